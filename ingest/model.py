"""The shapes ingestion passes around: batch context, conformed writes, rejections."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

import polars as pl
import pyarrow as pa

from ingest.validate import INVALID_VALUE
from schema.model import TableDef

WriteKind = Literal["upsert", "scd2", "mark", "delete"]


@dataclass(frozen=True)
class BatchContext:
    """Where a batch came from and when it is committed; stamped on every row as lineage."""

    source: str
    batch_id: str
    ingested_at: datetime


@dataclass
class Write:
    """One merge into a conformed table: upsert, SCD2, mark (soft delete) or delete of `rows`' keys."""

    table: TableDef
    kind: WriteKind
    rows: pa.Table
    assignments: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class RowRejection:
    """A raw row the model refuses, located by its source position, with the row itself."""

    position: str
    batch_id: str
    column: str | None
    message: str
    payload: Any
    reason_code: str = INVALID_VALUE
    record_key: str | None = None


@dataclass
class Conformed:
    """What one batch of raw rows becomes."""

    writes: list[Write] = field(default_factory=list)
    rejections: list[RowRejection] = field(default_factory=list)


@dataclass
class ConformEnv:
    """What some conformers need besides the rows: the clock, the product catalogue (read on demand), limits."""

    now: datetime
    catalogue: Callable[[], dict[str, str]]
    future_tolerance: timedelta = timedelta(minutes=5)  # events stamped further ahead of `now` are refused


_MONEY_COLUMNS = frozenset({"total_amount", "unit_price", "price"})
_TIME_COLUMNS = frozenset({"order_ts", "updated_at", "event_ts", "_ingested_at", "received_at"})


def records_table(rows: list[dict[str, object]]) -> pa.Table:
    """Arrow rows from dicts, money as decimal(12,2) and times as UTC microseconds."""
    names = rows[0].keys() if rows else ()
    overrides: dict[str, pl.DataType] = {n: pl.Decimal(12, 2) for n in names if n in _MONEY_COLUMNS}
    overrides.update({n: pl.Datetime("us", "UTC") for n in names if n in _TIME_COLUMNS})
    return pl.DataFrame(rows, schema_overrides=overrides, infer_schema_length=None).to_arrow()
