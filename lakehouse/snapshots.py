"""Read back what writers recorded in snapshot summaries (watermarks, offsets, build ids)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pyarrow as pa
from pyiceberg.table import Table
from pyiceberg.table.metadata import TableMetadata
from pyiceberg.table.snapshots import Operation, Snapshot

from schema.lake import PROP_ERASED_AT, PROP_ERASURE

PREFIX = "c360."


@dataclass(frozen=True)
class SnapshotInfo:
    """One entry of a table's history, for `c360` commands and the API."""

    snapshot_id: int
    committed_at: datetime
    operation: str
    properties: dict[str, str]  # only the service's own `c360.*` keys


def ancestors(table: Table | TableMetadata) -> Iterator[Snapshot]:
    """The current snapshot and its parents, newest first (of a table, or of metadata being committed on)."""
    metadata = table.metadata if isinstance(table, Table) else table
    snapshot = metadata.current_snapshot()
    while snapshot is not None:
        yield snapshot
        snapshot = metadata.snapshot_by_id(snapshot.parent_snapshot_id) if snapshot.parent_snapshot_id else None


def current_snapshot_id(table: Table) -> int | None:
    """The table's current snapshot id; None while nothing was ever committed to it."""
    snapshot = table.current_snapshot()
    return None if snapshot is None else snapshot.snapshot_id


def totals(table: Table, *, carrying: tuple[str, str], fields: tuple[str, ...]) -> dict[str, int]:
    """Sum of each numeric summary field (`deleted-records`, say) over the retained snapshots whose
    summary property `carrying[0]` equals `carrying[1]`."""
    key, value = carrying
    sums = dict.fromkeys(fields, 0)
    for snapshot in table.snapshots():
        summary = snapshot.summary
        if summary is not None and summary.additional_properties.get(key) == value:
            for name in fields:
                sums[name] += int(summary.get(name) or 0)
    return sums


def last_property(table: Table | TableMetadata, key: str) -> str | None:
    """The newest value of a summary property along the current lineage.

    Snapshots that do not carry it (a delete or a compaction, say) are walked past to their parents.
    """
    found = last_carrying(table, key)
    return None if found is None else found[1]


def last_carrying(table: Table | TableMetadata, key: str) -> tuple[int, str] | None:
    """The newest snapshot along the current lineage carrying a summary property: its id and the value.

    The id changes when maintenance re-commits the value (before expiring the snapshot that held it).
    """
    for snapshot in ancestors(table):
        if snapshot.summary is not None and (value := snapshot.summary.additional_properties.get(key)) is not None:
            return snapshot.snapshot_id, value
    return None


def erasure_properties(request_id: str, at: datetime) -> dict[str, str]:
    """Summary properties of an erasure's mark and delete snapshots: which request, and when."""
    return {PROP_ERASURE: request_id, PROP_ERASED_AT: str(int(at.timestamp() * 1000))}


def erasure_since(table: Table | TableMetadata, since_ms: int) -> str | None:
    """The privacy request of an erasure that marked or deleted from this table at or after `since_ms`, if any.

    The mark survives the erasure's own purge: expiry re-commits it on the checkpoint it keeps.
    """
    for snapshot in ancestors(table):
        properties = snapshot.summary.additional_properties if snapshot.summary is not None else {}
        if int(properties.get(PROP_ERASED_AT, -1)) >= since_ms:
            return properties.get(PROP_ERASURE, "unknown")
        if snapshot.timestamp_ms < since_ms:
            return None  # an older snapshot cannot carry a newer erasure
    return None


def latest_properties(table: Table | TableMetadata, prefixes: tuple[str, ...]) -> dict[str, str]:
    """The newest value of every summary property starting with one of `prefixes`, along the lineage."""
    found: dict[str, str] = {}
    for snapshot in ancestors(table):
        for key, value in (snapshot.summary.additional_properties if snapshot.summary else {}).items():
            if key.startswith(prefixes):
                found.setdefault(key, value)
    return found


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


def appended_since(table: Table, after_snapshot_id: int | None) -> Iterator[tuple[int, Callable[[], pa.Table]]]:
    """Each snapshot after `after_snapshot_id`, oldest first, with a loader of the rows it appended.

    The loader reads only when called, so a caller that still holds a snapshot's rows need not read
    them back. Snapshots that appended nothing (deletes, rewrites, property-only commits) load an
    empty table, so the caller can still record that it got past them. If `after_snapshot_id` is no
    longer in the lineage (expired), the current contents are offered once, as one snapshot.
    """
    lineage = list(ancestors(table))
    ids = [s.snapshot_id for s in lineage]
    if after_snapshot_id is not None and after_snapshot_id not in ids:
        if lineage:
            yield lineage[0].snapshot_id, lambda: table.scan().to_arrow()
        return
    pending = lineage[: ids.index(after_snapshot_id)] if after_snapshot_id is not None else lineage
    for snapshot in reversed(pending):
        yield snapshot.snapshot_id, _appended_rows(table, snapshot)


def _appended_rows(table: Table, snapshot: Snapshot) -> Callable[[], pa.Table]:
    def load() -> pa.Table:
        if snapshot.summary is None or snapshot.summary.operation != Operation.APPEND:
            return table.schema().as_arrow().empty_table()
        scan = table.incremental_append_scan(
            from_snapshot_id_exclusive=snapshot.parent_snapshot_id, to_snapshot_id_inclusive=snapshot.snapshot_id
        )
        return scan.to_arrow()

    return load
