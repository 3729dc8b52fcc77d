"""Writes to lakehouse tables: conforming Arrow data, appends, overwrites and retried commits.

Merges (upsert, delete by key, SCD Type 2) live in `lakehouse.merge`; every write here and there
takes snapshot summary properties so a worker's progress commits atomically with its rows.
"""

from __future__ import annotations

import itertools
import logging
import random
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import pyarrow as pa
import pyarrow.compute as pc
from pyiceberg.exceptions import CommitFailedException, ValidationException
from pyiceberg.expressions import AlwaysTrue, BooleanExpression
from pyiceberg.io.pyarrow import bin_pack_arrow_table, pyarrow_to_schema, write_file
from pyiceberg.manifest import DataFile
from pyiceberg.partitioning import PartitionFieldValue, PartitionKey
from pyiceberg.table import DataScan, Table, TableProperties, Transaction, WriteTask
from pyiceberg.table.metadata import TableMetadata
from pyiceberg.table.update.snapshot import _SnapshotProducer
from pyiceberg.utils.properties import property_as_int

from core.errors import CommitConflictError, ErasureFencedError, SchemaEvolutionError
from core.failpoints import failpoint
from lakehouse.snapshots import erasure_since, last_property

logger = logging.getLogger(__name__)

T = TypeVar("T")
RETRYABLE = (CommitFailedException, ValidationException)


@dataclass
class WriteResult:
    """What one write did, for logs, receipts and benchmarks."""

    table: str
    operation: str
    rows_added: int = 0
    rows_removed: int = 0
    files_added: int = 0
    files_removed: int = 0
    files_probed: int = 0
    snapshot_id: int | None = None
    details: dict[str, int] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        """True when the write changed table contents."""
        return bool(self.rows_added or self.rows_removed or self.files_removed)


def conform(target: pa.Schema, data: pa.Table) -> pa.Table:
    """Reorder and cast `data` to the table's Arrow schema; absent optional columns become null.

    Raises SchemaEvolutionError for columns the table lacks (evolve the table first) and ValueError
    for a required column that is absent or holds nulls.
    """
    if unknown := [name for name in data.column_names if target.get_field_index(name) < 0]:
        raise SchemaEvolutionError(f"columns not in the table schema: {unknown}")
    arrays = []
    for target_field in target:
        if target_field.name in data.column_names:
            column = data.column(target_field.name)
            if column.type != target_field.type:
                column = column.cast(target_field.type)
            if not target_field.nullable and column.null_count:
                raise ValueError(f"required column {target_field.name} has {column.null_count} null value(s)")
        elif target_field.nullable:
            column = pa.chunked_array([pa.nulls(len(data), target_field.type)])
        else:
            raise ValueError(f"required column {target_field.name} is missing")
        arrays.append(column)
    return pa.Table.from_arrays(arrays, schema=target).combine_chunks()


_ERASURE_FENCE: ContextVar[int | None] = ContextVar("c360_erasure_fence", default=None)
CLOCK_MARGIN_MS = 1_000  # an erasure stamped by a clock a little behind the build's still counts


@contextmanager
def fenced_against_erasure(since: datetime) -> Iterator[None]:
    """Within the block, refuse to commit to a table an erasure touched since `since`.

    A build (or a batch landing, or a conform step) reads its inputs first and writes its outputs
    later: an erasure in between would be undone by outputs computed from rows read before it. Every commit made in the block (in this
    thread or task) is checked on the metadata it commits on, and re-planned on any concurrent
    commit, so an erasure landing between the check and the commit is caught on the retry.
    """
    token = _ERASURE_FENCE.set(int(since.timestamp() * 1000) - CLOCK_MARGIN_MS)
    try:
        yield
    finally:
        _ERASURE_FENCE.reset(token)


def fenced_retrying(work: Callable[[], T], *, what: str, attempts: int = 5) -> T:
    """Run `work` behind a fence raised as it starts; refused by an erasure, run it again from the start.

    For work that reads what it needs afresh each time (a batch landing reads the suppression list,
    a conform step its raw rows): the next run sees the erasure. Each wait is a clock margin longer
    than the last (1 s, 2 s, ...): the erasure's own later deletes would refuse a run started among them.
    """
    for attempt in range(1, attempts + 1):
        try:
            with fenced_against_erasure(datetime.now(UTC)):
                return work()
        except ErasureFencedError as exc:
            if attempt == attempts:
                raise
            logger.info("%s: %s; running it again", what, exc)
            time.sleep(attempt * CLOCK_MARGIN_MS / 1000)
    raise AssertionError("unreachable")


def refuse_if_erased(table: Table | TableMetadata, name: str) -> None:
    """Raise ErasureFencedError when the fence is up and an erasure touched the table since it went up."""
    since = _ERASURE_FENCE.get()
    if since is not None and (request := erasure_since(table, since)) is not None:
        raise ErasureFencedError(
            f"{name}: erasure {request} committed after this work read its inputs; its outputs are not written"
        )


def commit_with_retry(
    table: Table, operation: Callable[[Transaction], T], *, attempts: int = 5, replan_on_conflict: bool = False
) -> T:
    """Run `operation` in a fresh transaction and commit it, re-planning on commit conflicts.

    pyiceberg already re-applies a commit when only the metadata pointer moved; a conflict it
    cannot resolve (a file we rewrite was removed meanwhile, new rows for our keys) surfaces here,
    and the whole operation is planned again on the refreshed table. So is a plan that found a
    metadata file gone because a concurrent expiry deleted it. With `replan_on_conflict`
    pyiceberg's own re-apply is bypassed: any concurrent commit sends the operation back to be
    planned again, for writers whose plan depends on what the table holds (a fence).
    """
    name = ".".join(table.name())
    replan_on_conflict = replan_on_conflict or _ERASURE_FENCE.get() is not None
    for attempt in range(1, attempts + 1):
        table.refresh()
        based_on = table.metadata_location
        tx = table.transaction()
        try:
            result = operation(tx)
            refuse_if_erased(tx.table_metadata, name)
        except FileNotFoundError:
            _discard_staged(tx._snapshot_producers)
            if attempt == attempts or table.refresh().metadata_location == based_on:
                raise
            # an expiry (an erasure's purge, say) committed meanwhile and deleted files the plan read
            logger.warning("files of %s went while planning (attempt %d): re-planning", name, attempt)
            continue
        except BaseException:
            _discard_staged(tx._snapshot_producers)  # nothing was sent to the catalog
            raise
        producers = list(tx._snapshot_producers)
        if replan_on_conflict:
            tx._snapshot_producers.clear()  # pyiceberg re-applies only snapshots it knows the producers of
        failpoint(f"commit:{name}")
        try:
            tx.commit_transaction()
        except RETRYABLE as exc:  # the catalog refused: the commit did not land
            _discard_staged(producers)
            if attempt == attempts:
                raise CommitConflictError(f"{'.'.join(table.name())}: commit failed {attempts} times: {exc}") from exc
            wait = min(2.0, 0.05 * 2**attempt) * (1 + random.random())
            logger.warning("commit conflict on %s (attempt %d), re-planning in %.2fs", table.name(), attempt, wait)
            time.sleep(wait)
            continue
        failpoint(f"committed:{name}")
        # Any other failure of the commit itself (an unknown outcome) keeps the files: they may be live.
        if isinstance(result, WriteResult) and (snapshot := table.current_snapshot()) is not None:
            result.snapshot_id = snapshot.snapshot_id
        return result
    raise AssertionError("unreachable")


def _discard_staged(producers: list[_SnapshotProducer[Any]]) -> None:
    for producer in producers:
        discard_written(producer)


def discard_written(producer: _SnapshotProducer[Any]) -> None:
    """Delete the data and manifest files a producer wrote for a commit that will not land.

    pyiceberg removes uncommitted manifests but leaves the data files (FACTS: an exception in a
    transaction leaves its files on disk); whatever slips past this, the maintenance sweep removes.
    """
    for data_file in producer._added_data_files:
        try:
            producer._io.delete(data_file.file_path)
        except FileNotFoundError:
            pass
        except OSError:
            logger.warning("could not delete an uncommitted data file; the maintenance sweep will")
    producer._clean_all_uncommitted()


def stage_append(tx: Transaction, data: pa.Table, properties: Mapping[str, str]) -> WriteResult:
    """Stage a fast append of `data` (conformed to the table) in `tx`, written sorted and split by partition."""
    result = WriteResult(table=".".join(tx._table.name()), operation="append", rows_added=len(data))
    if not len(data):
        return result
    with tx.update_snapshot(snapshot_properties=dict(properties)).fast_append() as producer:
        for data_file in write_data_files(tx.table_metadata, tx._table, data, producer.commit_uuid, itertools.count(0)):
            producer.append_data_file(data_file)
            result.files_added += 1
    return result


def append(table: Table, data: pa.Table, *, properties: Mapping[str, str] | None = None) -> WriteResult:
    """Append rows in one commit, with optional snapshot summary properties."""
    conformed = conform(table.schema().as_arrow(), data)
    return commit_with_retry(table, lambda tx: stage_append(tx, conformed, properties or {}))


def stage_mark(tx: Transaction, properties: Mapping[str, str]) -> WriteResult:
    """Stage a snapshot that adds no rows and carries `properties` (with none, nothing is staged)."""
    if properties:
        tx.update_snapshot(snapshot_properties=dict(properties)).fast_append().commit()
    return WriteResult(table=".".join(tx._table.name()), operation="append")


def mark(table: Table, properties: Mapping[str, str]) -> WriteResult:
    """Commit a snapshot that adds nothing and carries `properties`: a mark every later commit sees."""
    return commit_with_retry(table, lambda tx: stage_mark(tx, properties))


def append_checked(
    table: Table, plan: Callable[[Callable[[str], str | None]], tuple[pa.Table, Mapping[str, str]]]
) -> WriteResult:
    """Append what `plan` decides, given the table as it stands at commit time; re-planned on a conflict.

    `plan` receives a lookup of the newest summary property along the lineage being committed on,
    so a writer can fence itself: drop rows another writer committed meanwhile (Kafka offsets, say)
    and record its progress merged with theirs, in the same commit as its rows.
    """

    def run(tx: Transaction) -> WriteResult:
        rows, properties = plan(lambda key: last_property(tx.table_metadata, key))
        if not len(rows):
            return stage_mark(tx, properties)
        return stage_append(tx, conform(table.schema().as_arrow(), rows), properties)

    return commit_with_retry(table, run, replan_on_conflict=True)


def replace_all(table: Table, data: pa.Table, *, properties: Mapping[str, str] | None = None) -> WriteResult:
    """Replace the whole table contents with `data` in one snapshot (gold tables rebuilt per run).

    Every live data file is dropped and the new files added by one overwrite, so readers see the
    old contents or the new, and no row filter is evaluated.
    """
    conformed = conform(table.schema().as_arrow(), data)

    def run(tx: Transaction) -> WriteResult:
        result = WriteResult(table=".".join(table.name()), operation="replace", rows_added=len(conformed))
        producer = tx.update_snapshot(snapshot_properties=dict(properties or {})).overwrite()
        producer.delete_by_predicate(AlwaysTrue())
        metadata = tx.table_metadata
        for task in DataScan(table_metadata=metadata, io=table.io).plan_files():
            producer.delete_data_file(task.file)
            result.files_removed += 1
            result.rows_removed += task.file.record_count
        if len(conformed):
            for data_file in write_data_files(metadata, table, conformed, producer.commit_uuid, itertools.count(0)):
                producer.append_data_file(data_file)
                result.files_added += 1
        producer.commit()
        return result

    return commit_with_retry(table, run)


def overwrite(
    table: Table,
    data: pa.Table,
    *,
    overwrite_filter: BooleanExpression,
    properties: Mapping[str, str] | None = None,
) -> WriteResult:
    """Delete the rows matching `overwrite_filter` and append `data`, in one commit."""
    conformed = conform(table.schema().as_arrow(), data)

    def run(tx: Transaction) -> WriteResult:
        before = _file_count(tx)
        tx.overwrite(conformed, overwrite_filter=overwrite_filter, snapshot_properties=dict(properties or {}))
        return WriteResult(
            table=".".join(table.name()),
            operation="overwrite",
            rows_added=len(conformed),
            files_added=_file_count(tx) - before,
        )

    return commit_with_retry(table, run)


def _file_count(tx: Transaction) -> int:
    snapshot = tx.table_metadata.current_snapshot()
    if snapshot is None or snapshot.summary is None:
        return 0
    return int(snapshot.summary.get("total-data-files", "0"))


def write_data_files(
    metadata: TableMetadata,
    table: Table,
    rows: pa.Table,
    write_uuid: uuid.UUID,
    counter: Iterator[int],
    *,
    sort: bool = True,
) -> Iterator[DataFile]:
    """Write rows, sorted by the table's sort order, as data files of the current partition spec.

    pyiceberg does not apply the sort order itself; sorted files keep key bounds narrow, which is
    what lets merges and point reads skip files. One sort by (partition, sort order) also splits
    the rows into partitions as zero-copy slices, where pyiceberg filters the whole batch once per
    partition (a full copy even when the batch holds a single partition).
    """
    schema = metadata.schema()
    rows = conform(schema.as_arrow(), rows)
    target_size = property_as_int(
        metadata.properties,
        TableProperties.WRITE_TARGET_FILE_SIZE_BYTES,
        TableProperties.WRITE_TARGET_FILE_SIZE_BYTES_DEFAULT,
    )
    task_schema = pyarrow_to_schema(
        rows.schema, name_mapping=schema.name_mapping, format_version=metadata.format_version
    )
    sort_names = [schema.find_column_name(f.source_id) for f in metadata.sort_order().fields] if sort else []
    tasks = (
        WriteTask(
            write_uuid=write_uuid,
            task_id=next(counter),
            record_batches=batches,
            partition_key=key,
            schema=task_schema,
        )
        for key, part in _split_by_partition(metadata, rows, [name for name in sort_names if name])
        for batches in bin_pack_arrow_table(part, target_size or TableProperties.WRITE_TARGET_FILE_SIZE_BYTES_DEFAULT)
    )
    yield from write_file(io=table.io, table_metadata=metadata, tasks=tasks)


def _split_by_partition(
    metadata: TableMetadata, rows: pa.Table, sort_names: list[str]
) -> Iterator[tuple[PartitionKey | None, pa.Table]]:
    """Sort `rows` by partition value then `sort_names`, and yield each partition's contiguous slice."""
    spec, schema = metadata.spec(), metadata.schema()
    if not len(rows):
        return
    if spec.is_unpartitioned():
        yield None, rows.sort_by([(name, "ascending") for name in sort_names]) if sort_names else rows
        return
    # 1. The partition value of every row, as extra columns to sort by.
    keys = [f"_partition_{index}" for index in range(len(spec.fields))]
    for name, partition_field in zip(keys, spec.fields, strict=True):
        source = schema.find_field(partition_field.source_id)
        column = rows.column(schema.find_column_name(partition_field.source_id) or source.name)
        rows = rows.append_column(name, partition_field.transform.pyarrow_transform(source.field_type)(column))
    # 2. One sort groups each partition's rows together, in the table's sort order within it.
    rows = rows.sort_by([(name, "ascending") for name in keys + sort_names]).combine_chunks()
    # 3. A partition starts wherever any partition column changes value.
    starts = {0}
    for name in keys:
        ends = pc.run_end_encode(rows.column(name).chunk(0)).run_ends.to_pylist()
        starts.update(ends[:-1])
    bounds = sorted(starts) + [len(rows)]
    data = rows.drop_columns(keys)
    for start, end in itertools.pairwise(bounds):
        values = [rows.column(name)[start].as_py() for name in keys]
        key = PartitionKey(
            field_values=[PartitionFieldValue(f, v) for f, v in zip(spec.fields, values, strict=True)],
            partition_spec=spec,
            schema=schema,
        )
        yield key, data.slice(start, end - start)
