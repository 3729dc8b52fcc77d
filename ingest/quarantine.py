"""Quarantine: what could not be loaded, from where, and why; written idempotently.

A record's id derives from its source, entity, batch, position and reason; batch ids derive from
the source position a batch starts at, so re-reading a batch after a crash quarantines nothing twice.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyarrow as pa

from ingest.model import BatchContext, RowRejection
from ingest.validate import Rejection
from lakehouse import merge
from lakehouse.lake import Lake
from schema import lake as tables
from schema.ops import QUARANTINE_OPEN

# Columns that may differ when the same record is quarantined again; it is then left as it is.
_VOLATILE = ("batch_id", "quarantined_at", "status", "resolved_at", "message")


@dataclass(frozen=True)
class QuarantinedRecord:
    """One record refused by a load."""

    source: str
    entity: str
    batch_id: str
    position: str
    reason_code: str
    message: str
    payload: Any
    record_key: str | None = None
    column: str | None = None

    @property
    def quarantine_id(self) -> str:
        """Stable id: the same record of the same batch refused for the same reason gets the same id."""
        text = f"{self.source}|{self.entity}|{self.batch_id}|{self.position}|{self.reason_code}"
        return hashlib.sha256(text.encode()).hexdigest()[:32]


def from_typing(
    rejections: Iterable[Rejection], rows: pa.Table, ctx: BatchContext, entity: str, key: str
) -> list[QuarantinedRecord]:
    """Quarantine records for rows a batch could not type; `rows` are the batch as read (with `_watermark`)."""
    records = []
    for rejection in rejections:
        row = rows.slice(rejection.index, 1).to_pylist()[0]
        position = str(row.pop("_watermark", rejection.index))
        records.append(
            QuarantinedRecord(
                source=ctx.source, entity=entity, batch_id=ctx.batch_id, position=position,
                reason_code=rejection.reason_code, message=rejection.message, payload=row,
                record_key=None if row.get(key) is None else str(row[key]), column=rejection.column,
            )
        )  # fmt: skip
    return records


def from_conforming(rejections: Iterable[RowRejection], source: str, entity: str) -> list[QuarantinedRecord]:
    """Quarantine records for raw rows the conformed model refused."""
    return [
        QuarantinedRecord(
            source=source, entity=entity, batch_id=r.batch_id, position=r.position, reason_code=r.reason_code,
            message=r.message, payload=r.payload, column=r.column, record_key=r.record_key,
        )
        for r in rejections
    ]  # fmt: skip


def to_rows(records: Sequence[QuarantinedRecord], *, at: datetime) -> pa.Table:
    """Rows for the `ops.quarantine` table."""
    return pa.table(
        {
            "quarantine_id": [r.quarantine_id for r in records],
            "source": [r.source for r in records],
            "entity": [r.entity for r in records],
            "record_key": [r.record_key for r in records],
            "payload": [_as_json(r.payload) for r in records],
            "reason_code": [r.reason_code for r in records],
            "column_name": [r.column for r in records],
            "message": [r.message for r in records],
            "batch_id": [r.batch_id for r in records],
            "source_position": [r.position for r in records],
            "quarantined_at": pa.array([at] * len(records), pa.timestamp("us", tz="UTC")),
            "status": [QUARANTINE_OPEN] * len(records),
        }
    )


def write(lake: Lake, records: Sequence[QuarantinedRecord], *, at: datetime) -> int:
    """Add records to `ops.quarantine`; a record already there is left as it is. Returns records given."""
    if records:
        merge.upsert(lake.table(tables.QUARANTINE), to_rows(records, at=at), ignore_columns=_VOLATILE)
    return len(records)


def _as_json(payload: Any) -> str:
    if isinstance(payload, str):
        return payload
    return json.dumps(payload, default=str, sort_keys=True)
