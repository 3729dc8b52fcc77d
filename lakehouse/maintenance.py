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
from pyiceberg.table import Table

from lakehouse.snapshots import ancestors

logger = logging.getLogger(__name__)


@dataclass
class MaintenanceResult:
    """What a maintenance pass did."""

    table: str
    snapshots_expired: int = 0
    files_deleted: int = 0
    bytes_deleted: int = 0


def expire_snapshots(table: Table, *, older_than: datetime, retain_last: int = 1) -> int:
    """Expire snapshots older than `older_than`, always keeping the newest `retain_last` of the lineage."""
    keep = {s.snapshot_id for s in itertools.islice(ancestors(table), retain_last)}
    cutoff_ms = int(older_than.timestamp() * 1000)
    expired = [s.snapshot_id for s in table.snapshots() if s.snapshot_id not in keep and s.timestamp_ms < cutoff_ms]
    if expired:
        table.maintenance.expire_snapshots().by_ids(expired).commit()
    return len(expired)


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
