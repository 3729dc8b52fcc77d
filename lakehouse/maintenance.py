"""Table maintenance pyiceberg 0.12 leaves to us: expiring snapshots and deleting unreferenced files.

`expire_snapshots` in pyiceberg only edits metadata; the data, manifest and manifest-list files of
expired snapshots stay on disk (and time travel to them is gone, but their bytes are not). The
sweep here deletes every file under the table location that no retained snapshot or metadata file
references, which is what makes an erasure or a retention policy real.
"""

from __future__ import annotations

import itertools
import logging
import time
from dataclasses import dataclass
from datetime import datetime

from pyarrow import fs
from pyiceberg.exceptions import CommitFailedException
from pyiceberg.table import Table, Transaction

from lakehouse.snapshots import ancestors, latest_properties
from lakehouse.write import commit_with_retry
from schema.lake import PROGRESS_PROPERTY_PREFIXES

logger = logging.getLogger(__name__)


@dataclass
class MaintenanceResult:
    """What a maintenance pass did."""

    table: str
    snapshots_expired: int = 0
    files_deleted: int = 0
    bytes_deleted: int = 0


def expire_snapshots(table: Table, *, older_than: datetime, retain_last: int = 1, attempts: int = 5) -> int:
    """Expire snapshots older than `older_than`, always keeping the newest `retain_last` of the lineage.

    Writers' progress (watermarks, Kafka offsets, consumed raw snapshots) lives in snapshot
    summaries; before any snapshot goes, its newest values are re-committed in a row-less
    checkpoint snapshot, so expiring never sends a worker back to re-read what it already took in.
    A commit racing a writer is retried on the refreshed table.
    """
    cutoff_ms = int(older_than.timestamp() * 1000)
    for attempt in range(1, attempts + 1):
        table.refresh()
        if not _expirable(table, cutoff_ms, retain_last):
            return 0
        checkpoint_progress(table)
        expired = _expirable(table, cutoff_ms, max(1, retain_last))
        try:
            table.maintenance.expire_snapshots().by_ids(expired).commit()
            return len(expired)
        except CommitFailedException:
            if attempt == attempts:
                raise
            time.sleep(0.1 * attempt)
    raise AssertionError("unreachable")


def _expirable(table: Table, cutoff_ms: int, retain_last: int) -> list[int]:
    keep = {s.snapshot_id for s in itertools.islice(ancestors(table), retain_last)}
    return [s.snapshot_id for s in table.snapshots() if s.snapshot_id not in keep and s.timestamp_ms < cutoff_ms]


def checkpoint_progress(table: Table) -> bool:
    """Commit a row-less snapshot with the newest progress properties, unless the current one has them all.

    Planned against the table it commits on: a writer committing meanwhile makes it plan again.
    """

    def run(tx: Transaction) -> bool:
        latest = latest_properties(tx.table_metadata, PROGRESS_PROPERTY_PREFIXES)
        current = tx.table_metadata.current_snapshot()
        carried = current.summary.additional_properties if current and current.summary else {}
        if all(carried.get(key) == value for key, value in latest.items()):
            return False
        tx.update_snapshot(snapshot_properties=latest).fast_append().commit()
        return True

    return commit_with_retry(table, run, replan_on_conflict=True)


def referenced_files(table: Table) -> set[str]:
    """Every file a retained snapshot or metadata file needs, as filesystem paths."""
    metadata = table.metadata
    uris = {table.metadata_location, *(entry.metadata_file for entry in metadata.metadata_log)}
    for snapshot in metadata.snapshots:
        uris.add(snapshot.manifest_list)
        for manifest in snapshot.manifests(table.io):
            uris.add(manifest.manifest_path)
            uris.update(entry.data_file.file_path for entry in manifest.fetch_manifest_entry(table.io))
    uris.update(stat.statistics_path for stat in metadata.statistics)
    return {_fs_path(uri) for uri in uris}


def delete_unreferenced_files(table: Table, *, min_age_seconds: float = 3600.0) -> MaintenanceResult:
    """Delete files under the table location that nothing references.

    Files younger than `min_age_seconds` are kept: they may belong to a commit still in flight.
    """
    result = MaintenanceResult(table=".".join(table.name()))
    filesystem, root = fs.FileSystem.from_uri(table.location())
    referenced = referenced_files(table)
    newest_allowed = time.time() - min_age_seconds
    for info in filesystem.get_file_info(fs.FileSelector(root, recursive=True, allow_not_found=True)):
        if info.type != fs.FileType.File or info.path in referenced:
            continue
        if info.mtime is not None and info.mtime.timestamp() > newest_allowed:
            continue
        filesystem.delete_file(info.path)
        result.files_deleted += 1
        result.bytes_deleted += info.size or 0
    logger.info("%s: deleted %d unreferenced files", result.table, result.files_deleted)
    return result


def expire_and_sweep(
    table: Table, *, older_than: datetime, retain_last: int = 1, min_age_seconds: float = 3600.0
) -> MaintenanceResult:
    """Expire old snapshots, then delete the files only they referenced."""
    expired = expire_snapshots(table, older_than=older_than, retain_last=retain_last)
    table.refresh()
    result = delete_unreferenced_files(table, min_age_seconds=min_age_seconds)
    result.snapshots_expired = expired
    return result


def _fs_path(uri: str) -> str:
    return fs.FileSystem.from_uri(uri)[1]
