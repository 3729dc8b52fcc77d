"""Create lakehouse tables from their definitions in `schema.lake` and evolve them safely."""

from __future__ import annotations

import logging

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
    IcebergType,
    IntegerType,
    LongType,
    NestedField,
    StringType,
    TimestamptzType,
)

from core.errors import NoSuchTableError
from schema.lake import BASE_PROPERTIES
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


def _transform(name: str) -> Transform:  # type: ignore[type-arg]
    base, _, arg = name.partition("[")
    simple: dict[str, Transform] = {  # type: ignore[type-arg]
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


def table_properties(table: TableDef) -> dict[str, str]:
    """Table properties: shared defaults, no value bounds for PII columns, then the table's own."""
    pii_metrics = {f"write.metadata.metrics.column.{name}": "counts" for name in table.pii_columns}
    return {**BASE_PROPERTIES, **pii_metrics, **table.properties}


def create_table(catalog: Catalog, table: TableDef) -> Table:
    """Create the table if it does not exist; otherwise load it and add columns the code gained."""
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


def load_table(catalog: Catalog, table: TableDef) -> Table:
    """Load an existing table; NoSuchTableError (project) if it was never created."""
    try:
        return catalog.load_table(table.identifier)
    except IcebergNoSuchTableError as exc:
        raise NoSuchTableError(f"table {table.full_name} does not exist; run `c360 run` first") from exc


def arrow_schema(table: Table) -> pa.Schema:
    """The Arrow schema rows must have to be written to `table` (field ids in the metadata)."""
    return table.schema().as_arrow()
