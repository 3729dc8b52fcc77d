"""Read back what writers recorded in snapshot summaries (watermarks, offsets, build ids)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from pyiceberg.table import Table
from pyiceberg.table.snapshots import Snapshot

PREFIX = "c360."


@dataclass(frozen=True)
class SnapshotInfo:
    """One entry of a table's history, for `c360` commands and the API."""

    snapshot_id: int
    committed_at: datetime
    operation: str
    properties: dict[str, str]  # only the service's own `c360.*` keys


def ancestors(table: Table) -> Iterator[Snapshot]:
    """The current snapshot and its parents, newest first."""
    snapshot = table.current_snapshot()
    while snapshot is not None:
        yield snapshot
        snapshot = table.snapshot_by_id(snapshot.parent_snapshot_id) if snapshot.parent_snapshot_id else None


def last_property(table: Table, key: str) -> str | None:
    """The newest value of a summary property along the current lineage.

    Snapshots that do not carry it (a delete or a compaction, say) are walked past to their parents.
    """
    for snapshot in ancestors(table):
        if snapshot.summary is not None and (value := snapshot.summary.additional_properties.get(key)) is not None:
            return value
    return None


def history(table: Table) -> list[SnapshotInfo]:
    """The current lineage, newest first, with each snapshot's custom properties."""
    return [
        SnapshotInfo(
            snapshot_id=s.snapshot_id,
            committed_at=datetime.fromtimestamp(s.timestamp_ms / 1000, UTC),
            operation=s.summary.operation.value if s.summary else "unknown",
            properties={
                k: v for k, v in (s.summary.additional_properties if s.summary else {}).items() if k.startswith(PREFIX)
            },
        )
        for s in ancestors(table)
    ]
