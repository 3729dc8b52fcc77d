"""Quarantine rows: what could not be loaded, from where, and why.

Ids are derived from the source position and reason, so loading the same bad record twice
quarantines it once.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyarrow as pa


@dataclass(frozen=True)
class QuarantinedRecord:
    """One record refused by a load."""

    source: str
    entity: str
    position: str
    reason_code: str
    message: str
    payload: Any
    record_key: str | None = None
    column: str | None = None

    @property
    def quarantine_id(self) -> str:
        """Stable id: the same record refused for the same reason gets the same id."""
        digest = hashlib.sha256(f"{self.source}|{self.entity}|{self.position}|{self.reason_code}".encode())
        return digest.hexdigest()[:32]


def to_rows(records: Sequence[QuarantinedRecord], *, batch_id: str, at: datetime) -> pa.Table:
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
            "batch_id": [batch_id] * len(records),
            "source_position": [r.position for r in records],
            "quarantined_at": pa.array([at] * len(records), pa.timestamp("us", tz="UTC")),
        }
    )


def _as_json(payload: Any) -> str:
    if isinstance(payload, str):
        return payload
    return json.dumps(payload, default=str, sort_keys=True)
