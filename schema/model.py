"""Engine-neutral building blocks for table definitions.

Tables are described with these plain dataclasses so that `schema/` imports no engine: the
lakehouse layer turns them into pyiceberg objects, the docs generator into Spark SQL DDL and an ERD.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

MONEY = "decimal(12,2)"
PRIMITIVE_TYPES = frozenset({"boolean", "int", "long", "double", "date", "timestamptz", "string"})
_DECIMAL = re.compile(r"^decimal\((\d+),\s*(\d+)\)$")
_TRANSFORM = re.compile(r"^(identity|year|month|day|hour|bucket\[\d+\]|truncate\[\d+\])$")


class Layer(StrEnum):
    """Where a table sits in the medallion layout; also its Iceberg namespace."""

    RAW = "raw"
    CONFORMED = "conformed"
    GOLD = "gold"
    OPS = "ops"


@dataclass(frozen=True)
class Column:
    """One column with a stable Iceberg field id; `pii` columns keep no value bounds in manifests."""

    field_id: int
    name: str
    type: str
    required: bool = False
    doc: str = ""
    pii: bool = False

    def __post_init__(self) -> None:
        if self.type not in PRIMITIVE_TYPES and not _DECIMAL.match(self.type):
            raise ValueError(f"column {self.name}: unknown type {self.type!r}")

    @property
    def decimal(self) -> tuple[int, int] | None:
        """(precision, scale) of a decimal column, else None."""
        match = _DECIMAL.match(self.type)
        return (int(match.group(1)), int(match.group(2))) if match else None


@dataclass(frozen=True)
class PartitionField:
    """A partition transform over one source column, e.g. month(order_ts)."""

    source: str
    transform: str

    def __post_init__(self) -> None:
        if not _TRANSFORM.match(self.transform):
            raise ValueError(f"unknown partition transform {self.transform!r}")

    @property
    def name(self) -> str:
        """Partition field name as Iceberg derives it: order_ts_month, user_id_bucket."""
        base = self.transform.split("[")[0]
        return self.source if base == "identity" else f"{self.source}_{base}"


@dataclass(frozen=True)
class TableDef:
    """A lakehouse table: columns, identifier (merge) key, partitioning, sort order and why."""

    layer: Layer
    name: str
    doc: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    partition: tuple[PartitionField, ...] = ()
    sort: tuple[str, ...] = ()
    layout_rationale: str = ""
    properties: dict[str, str] = field(default_factory=dict)
    immutable: tuple[str, ...] = ()  # never change for a key (an order's time): merges prune files by them

    def __post_init__(self) -> None:
        names = [c.name for c in self.columns]
        ids = [c.field_id for c in self.columns]
        if len(set(names)) != len(names) or len(set(ids)) != len(ids):
            raise ValueError(f"table {self.name}: duplicate column name or field id")
        known = set(names)
        referenced = [*self.key, *self.sort, *(p.source for p in self.partition), *self.immutable]
        if missing := [n for n in referenced if n not in known]:
            raise ValueError(f"table {self.name}: key/sort/partition names unknown columns {missing}")
        if optional_keys := [c.name for c in self.columns if c.name in self.key and not c.required]:
            raise ValueError(f"table {self.name}: identifier columns must be required: {optional_keys}")

    @property
    def identifier(self) -> tuple[str, str]:
        """(namespace, table) as the catalog knows it."""
        return (self.layer.value, self.name)

    @property
    def full_name(self) -> str:
        """namespace.table, for messages and DDL."""
        return f"{self.layer.value}.{self.name}"

    def column(self, name: str) -> Column:
        """The column called `name`; KeyError if there is none."""
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"{self.full_name} has no column {name!r}")

    @property
    def column_names(self) -> tuple[str, ...]:
        """Column names in declaration order."""
        return tuple(c.name for c in self.columns)

    @property
    def pii_columns(self) -> tuple[str, ...]:
        """Columns holding personal data."""
        return tuple(c.name for c in self.columns if c.pii)


@dataclass(frozen=True)
class Relationship:
    """A logical foreign key between two tables, for the ERD."""

    child: str
    child_column: str
    parent: str
    parent_column: str
    label: str
