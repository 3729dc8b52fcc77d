"""Create lakehouse tables from their definitions in `schema.lake` and evolve them safely."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import pyarrow as pa
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchTableError as IcebergNoSuchTableError
from pyiceberg.exceptions import TableAlreadyExistsError
from pyiceberg.partitioning import PartitionField as IcebergPartitionField
from pyiceberg.partitioning import PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.table import Table
from pyiceberg.table.sorting import NullOrder, SortDirection, SortField, SortOrder
from pyiceberg.transforms import (
    BucketTransform,
    DayTransform,
    HourTransform,
    IdentityTransform,
    MonthTransform,
    Transform,
    TruncateTransform,
    YearTransform,
)
from pyiceberg.types import (
    BooleanType,
    DateType,
    DecimalType,
    DoubleType,
    FloatType,
    IcebergType,
    IntegerType,
    LongType,
    NestedField,
    StringType,
    TimestampType,
    TimestamptzType,
)

from core.errors import NoSuchTableError, SchemaEvolutionError
from schema.lake import table_properties
from schema.model import Column, TableDef

logger = logging.getLogger(__name__)

_PRIMITIVES: dict[str, IcebergType] = {
    "boolean": BooleanType(),
    "int": IntegerType(),
    "long": LongType(),
    "double": DoubleType(),
    "date": DateType(),
    "timestamptz": TimestamptzType(),
    "string": StringType(),
}
_FIRST_PARTITION_FIELD_ID = 1000
_ARROW_TO_ICEBERG = (
    (pa.types.is_boolean, BooleanType()),
    (lambda t: pa.types.is_integer(t) and t.bit_width <= 32, IntegerType()),
    (pa.types.is_integer, LongType()),
    (pa.types.is_float32, FloatType()),
    (pa.types.is_floating, DoubleType()),
    (pa.types.is_date, DateType()),
    (lambda t: pa.types.is_string(t) or pa.types.is_large_string(t), StringType()),
)


def iceberg_type(column: Column) -> IcebergType:
    """The Iceberg type of a column definition."""
    if column.decimal is not None:
        return DecimalType(*column.decimal)
    return _PRIMITIVES[column.type]


def iceberg_schema(table: TableDef) -> Schema:
    """The Iceberg schema of a table definition, with its field ids and identifier fields."""
    fields = [
        NestedField(c.field_id, c.name, iceberg_type(c), required=c.required, doc=c.doc or None) for c in table.columns
    ]
    key_ids = [table.column(name).field_id for name in table.key]
    return Schema(*fields, identifier_field_ids=key_ids)


def _transform(name: str) -> Transform:
    base, _, arg = name.partition("[")
    simple: dict[str, Transform] = {
        "identity": IdentityTransform(),
        "year": YearTransform(),
        "month": MonthTransform(),
        "day": DayTransform(),
        "hour": HourTransform(),
    }
    if base == "bucket":
        return BucketTransform(int(arg.rstrip("]")))
    if base == "truncate":
        return TruncateTransform(int(arg.rstrip("]")))
    return simple[base]


def partition_spec(table: TableDef) -> PartitionSpec:
    """The Iceberg partition spec of a table definition."""
    fields = [
        IcebergPartitionField(
            source_id=table.column(p.source).field_id,
            field_id=_FIRST_PARTITION_FIELD_ID + i,
            transform=_transform(p.transform),
            name=p.name,
        )
        for i, p in enumerate(table.partition)
    ]
    return PartitionSpec(*fields)


def sort_order(table: TableDef) -> SortOrder:
    """The Iceberg sort order of a table definition (ascending, nulls first)."""
    fields = [
        SortField(
            source_id=table.column(name).field_id,
            transform=IdentityTransform(),
            direction=SortDirection.ASC,
            null_order=NullOrder.NULLS_FIRST,
        )
        for name in table.sort
    ]
    return SortOrder(*fields) if fields else SortOrder()


def create_table(catalog: Catalog, table: TableDef) -> Table:
    """Create the table if it does not exist; otherwise load it and add columns the code gained.

    Existence is checked first: a SQL catalog writes the metadata file before it notices the
    table exists, so creating blindly would leave an orphan metadata file on every start.
    """
    if catalog.table_exists(table.identifier):
        return add_missing_properties(add_missing_columns(catalog.load_table(table.identifier), table), table)
    try:
        return catalog.create_table(
            table.identifier,
            schema=iceberg_schema(table),
            partition_spec=partition_spec(table),
            sort_order=sort_order(table),
            properties=table_properties(table),
        )
    except TableAlreadyExistsError:
        existing = catalog.load_table(table.identifier)
        return add_missing_columns(existing, table)


def create_tables(catalog: Catalog, tables: tuple[TableDef, ...]) -> dict[str, Table]:
    """Create every table in `tables`; returns them by full name."""
    return {t.full_name: create_table(catalog, t) for t in tables}


def add_missing_columns(existing: Table, table: TableDef) -> Table:
    """Add columns declared in code but missing from an existing table (a code-side schema evolution)."""
    present = {f.name for f in existing.schema().fields}
    missing = [c for c in table.columns if c.name not in present]
    if not missing:
        return existing
    with existing.update_schema() as update:
        for col in missing:
            update.add_column(col.name, iceberg_type(col), doc=col.doc or None)
    logger.info("added columns %s to %s", [c.name for c in missing], table.full_name)
    return existing


def add_missing_properties(existing: Table, table: TableDef) -> Table:
    """Set the properties declared in code that an existing table lacks or holds otherwise.

    A column newly marked personal gets its no-bounds metrics mode this way; files written before
    keep their bounds until rewritten.
    """
    wanted = table_properties(table)
    changed = {key: value for key, value in wanted.items() if existing.properties.get(key) != value}
    if not changed:
        return existing
    with existing.transaction() as tx:
        tx.set_properties(changed)
    logger.info("set properties %s of %s", sorted(changed), table.full_name)
    return existing


def load_table(catalog: Catalog, table: TableDef) -> Table:
    """Load an existing table; NoSuchTableError (project) if it was never created."""
    try:
        return catalog.load_table(table.identifier)
    except IcebergNoSuchTableError as exc:
        raise NoSuchTableError(f"table {table.full_name} does not exist; run `c360 run` first") from exc


def arrow_schema(table: Table) -> pa.Schema:
    """The Arrow schema rows must have to be written to `table` (field ids in the metadata)."""
    return table.schema().as_arrow()


def iceberg_type_of(arrow_type: pa.DataType) -> IcebergType | None:
    """The Iceberg primitive for an Arrow type; None for the null type (no information)."""
    if pa.types.is_null(arrow_type):
        return None
    if pa.types.is_decimal(arrow_type):
        return DecimalType(arrow_type.precision, arrow_type.scale)
    if pa.types.is_timestamp(arrow_type):
        return TimestamptzType() if arrow_type.tz else TimestampType()
    for check, iceberg in _ARROW_TO_ICEBERG:
        if check(arrow_type):
            return iceberg
    raise SchemaEvolutionError(f"unsupported column type {arrow_type}")


def _fits(current: IcebergType, wanted: IcebergType) -> str:
    """'same', 'widen' (Iceberg promotion), 'narrower' (casts into current) or 'incompatible'."""
    if current == wanted:
        return "same"
    promotions = {(IntegerType(), LongType()), (FloatType(), DoubleType())}
    if (current, wanted) in promotions:
        return "widen"
    if (wanted, current) in promotions:
        return "narrower"
    if isinstance(current, DecimalType) and isinstance(wanted, DecimalType) and current.scale == wanted.scale:
        return "widen" if wanted.precision > current.precision else "narrower"
    if isinstance(current, DecimalType) and isinstance(wanted, (IntegerType, LongType)):
        return "narrower"
    return "incompatible"


@dataclass
class Evolution:
    """What fitting a table to incoming columns changed, and what it refused."""

    added: list[tuple[str, IcebergType]] = field(default_factory=list)
    widened: list[tuple[str, IcebergType]] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)

    @property
    def changes(self) -> list[str]:
        """Human-readable list of the changes made."""
        return [f"added {n} {t}" for n, t in self.added] + [f"widened {n} to {t}" for n, t in self.widened]


def plan_evolution(table: Table, incoming: pa.Schema) -> Evolution:
    """Compare incoming columns with the table: new ones to add, Iceberg promotions, incompatible ones."""
    present = {f.name: f.field_type for f in table.schema().fields}
    plan = Evolution()
    for arrow_field in incoming:
        wanted = iceberg_type_of(arrow_field.type)
        if arrow_field.name not in present:
            plan.added.append((arrow_field.name, wanted or StringType()))
            continue
        verdict = "same" if wanted is None else _fits(present[arrow_field.name], wanted)
        if verdict == "incompatible":
            plan.refused[arrow_field.name] = f"{wanted} does not fit {present[arrow_field.name]}"
        elif verdict == "widen" and wanted is not None:
            plan.widened.append((arrow_field.name, wanted))
    return plan


def evolve_to(table: Table, incoming: pa.Schema, *, refuse_incompatible: bool = True) -> Evolution:
    """Evolve `table` so rows of `incoming` fit: add new columns, widen types; never change a type otherwise.

    Widening follows Iceberg's promotion rules (int to long, float to double, a decimal of larger
    precision). A narrowing or a type swap (text into a number) would make old files unreadable:
    it raises SchemaEvolutionError, or with `refuse_incompatible=False` is left out (the column keeps
    its type and values that do not fit are the caller's to quarantine). Every change is logged and
    recorded in the table's schema history.
    """
    plan = plan_evolution(table, incoming)
    if plan.refused and refuse_incompatible:
        name, reason = next(iter(plan.refused.items()))
        raise SchemaEvolutionError(f"{'.'.join(table.name())}.{name}: {reason}")
    if plan.added or plan.widened:
        with table.update_schema() as update:
            for name, iceberg in plan.added:
                update.add_column(name, iceberg)
            for name, iceberg in plan.widened:
                update.update_column(name, field_type=iceberg)
        logger.info("schema of %s evolved: %s", ".".join(table.name()), "; ".join(plan.changes))
    for name, reason in plan.refused.items():
        logger.warning("schema of %s kept for %s: %s", ".".join(table.name()), name, reason)
    return plan
