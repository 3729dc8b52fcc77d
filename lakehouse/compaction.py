"""Compaction: rewrite a partition's small files (a stream's micro-batches) into target-size files.

pyiceberg 0.12 has no rewrite_data_files. Here each partition with enough small files is read,
sorted by the table's sort order and written again; old and new files swap in one snapshot. The
swap is validated only on what it depends on: the files it replaces must still be live. Appends
committed meanwhile (a stream worker writing on) are no conflict, so pyiceberg re-applies the swap
on top of them; a concurrent rewrite of the same files makes the whole compaction plan again.
"""

from __future__ import annotations

import itertools
import logging
from collections import defaultdict
from dataclasses import dataclass, field

import pyarrow as pa
from pyiceberg.expressions import BooleanExpression, IsNull
from pyiceberg.table import DataScan, FileScanTask, Table, TableProperties, Transaction
from pyiceberg.table.metadata import TableMetadata
from pyiceberg.utils.properties import property_as_int

from lakehouse.merge import read_file
from lakehouse.write import commit_with_retry, write_data_files

logger = logging.getLogger(__name__)


@dataclass
class CompactionResult:
    """What one compaction of a table did."""

    table: str
    partitions: int = 0
    files_removed: int = 0
    files_added: int = 0
    rows: int = 0
    details: list[str] = field(default_factory=list)


def compact(
    table: Table, *, target_file_bytes: int | None = None, min_files: int = 2, partition: str | None = None
) -> CompactionResult:
    """Rewrite every partition (or the one whose printed value is `partition`) holding `min_files` small files.

    A file is small below half the target size (the table's write.target-file-size-bytes unless given).
    """

    def run(tx: Transaction) -> CompactionResult:
        metadata = tx.table_metadata
        target = target_file_bytes or property_as_int(
            metadata.properties,
            TableProperties.WRITE_TARGET_FILE_SIZE_BYTES,
            TableProperties.WRITE_TARGET_FILE_SIZE_BYTES_DEFAULT,
        )
        result = CompactionResult(table=".".join(table.name()))
        tasks = list(DataScan(table_metadata=metadata, io=table.io).plan_files())
        groups = _small_file_groups(metadata, tasks, target or 0)
        chosen = {k: v for k, v in groups.items() if len(v) >= min_files and (partition is None or k[1] == partition)}
        if not chosen:
            return result
        producer = tx.update_snapshot().overwrite()
        producer.delete_by_predicate(_matches_nothing(table))
        counter = itertools.count(0)
        for (_, printed), tasks in chosen.items():
            rows = pa.concat_tables([read_file(metadata, table, task, None) for task in tasks])
            for task in tasks:
                producer.delete_data_file(task.file)
            written = list(write_data_files(metadata, table, rows, producer.commit_uuid, counter))
            for data_file in written:
                producer.append_data_file(data_file)
            result.partitions += 1
            result.files_removed += len(tasks)
            result.files_added += len(written)
            result.rows += len(rows)
            result.details.append(f"{printed}: {len(tasks)} -> {len(written)} files")
        producer.commit()
        return result

    result = commit_with_retry(table, run)
    logger.info("compacted %s: %s", result.table, "; ".join(result.details) or "nothing to do")
    return result


def _small_file_groups(
    metadata: TableMetadata, tasks: list[FileScanTask], target: int
) -> dict[tuple[int, str], list[FileScanTask]]:
    """Files below half the target size, by (partition spec, partition path such as `event_ts_day=2026-11-27`)."""
    specs, schema = metadata.specs(), metadata.schema()
    groups: dict[tuple[int, str], list[FileScanTask]] = defaultdict(list)
    for task in tasks:
        if task.file.file_size_in_bytes < target // 2 and not task.delete_files:
            spec = specs[task.file.spec_id]
            path = spec.partition_to_path(task.file.partition, schema) if spec.fields else "unpartitioned"
            groups[(task.file.spec_id, path)].append(task)
    return groups


def _matches_nothing(table: Table) -> BooleanExpression:
    """A conflict filter no row can match: compaction depends only on its input files staying live."""
    required = next(f for f in table.schema().fields if f.required)
    return IsNull(term=required.name)
