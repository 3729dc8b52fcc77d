"""Read lakehouse tables into Arrow, Polars or DuckDB, now or as of a point in time."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

import duckdb
import polars as pl
import pyarrow as pa
from pyiceberg.expressions import AlwaysFalse, AlwaysTrue, And, BooleanExpression, EqualTo, In
from pyiceberg.table import Table

from core.errors import NotFoundError

ALWAYS_TRUE = AlwaysTrue()


def to_frame(rows: pa.Table) -> pl.DataFrame:
    """An Arrow table as a Polars DataFrame (zero-copy where the types allow)."""
    frame = pl.from_arrow(rows)
    if not isinstance(frame, pl.DataFrame):
        raise TypeError("expected a table, got a single column")
    return frame


def snapshot_id_as_of(table: Table, when: datetime) -> int:
    """The snapshot current at `when`; NotFoundError if the table did not exist yet."""
    snapshot = table.snapshot_as_of_timestamp(int(when.timestamp() * 1000))
    if snapshot is None:
        raise NotFoundError(f"{'.'.join(table.name())} has no snapshot at or before {when.isoformat()}")
    return snapshot.snapshot_id


def equal_to(**values: str) -> BooleanExpression:
    """A row filter: every named column equals its value (no quoting to get wrong, whatever the value holds)."""
    expression: BooleanExpression = ALWAYS_TRUE
    for column, value in values.items():
        # pydantic's mypy plugin sees the model's fields, not EqualTo's own (term, literal) constructor
        expression = And(expression, EqualTo(term=column, literal=value))  # type: ignore[call-arg]
    return expression


def is_in(column: str, values: Sequence[object]) -> BooleanExpression:
    """A row filter: the column holds one of `values` (matches nothing when there are none)."""
    if not values:
        return AlwaysFalse()
    return In(term=column, literals=tuple(values))


def read_arrow(
    table: Table,
    *,
    row_filter: BooleanExpression | str = ALWAYS_TRUE,
    columns: Sequence[str] | None = None,
    as_of: datetime | None = None,
) -> pa.Table:
    """Scan a table (pushing the filter down to files) into Arrow."""
    snapshot_id = snapshot_id_as_of(table, as_of) if as_of else None
    selected = tuple(columns) if columns else ("*",)
    return table.scan(row_filter=row_filter, selected_fields=selected, snapshot_id=snapshot_id).to_arrow()


def read_polars(
    table: Table,
    *,
    row_filter: BooleanExpression | str = ALWAYS_TRUE,
    columns: Sequence[str] | None = None,
    as_of: datetime | None = None,
) -> pl.DataFrame:
    """Scan a table into a Polars DataFrame."""
    return to_frame(read_arrow(table, row_filter=row_filter, columns=columns, as_of=as_of))


def newest_per(rows: pl.DataFrame, key: str, at: str) -> pl.DataFrame:
    """The newest row (by `at`) of each `key`, of a table that appends new versions of a row instead of replacing it."""
    return rows.sort(at, descending=True).unique(key, keep="first")


def duckdb_over(
    tables: Mapping[str, Table], connection: duckdb.DuckDBPyConnection | None = None
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with each table registered as a view of its current Arrow scan."""
    con = connection or duckdb.connect()
    for name, table in tables.items():
        con.register(name, read_arrow(table))
    return con
