"""File-level merges: upsert, delete by key and SCD Type 2, costing what the touched files cost.

pyiceberg's `Table.upsert` and `overwrite(In(...))` rebuild an `In(keys)` expression per data file and
rewrite through row filters, which on a 1M-row table takes minutes. Here a merge:

1. plans the files whose key bounds overlap the incoming keys (manifest metrics, no data read);
2. probes only the key columns of those files to find the ones that really hold a key;
3. reads each such file whole, lets a rule (upsert, delete, SCD2) decide which rows leave and what
   replaces them, and writes the file's surviving rows as a new file;
4. appends the rows the rule inserts, and commits the file replacement as one overwrite snapshot,
   guarded by a key-range conflict filter so a concurrent writer of the same keys forces a re-plan.
"""

from __future__ import annotations

import itertools
import logging
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
from pyiceberg.expressions import AlwaysTrue, And, BooleanExpression, GreaterThanOrEqual, LessThanOrEqual
from pyiceberg.io.pyarrow import ArrowScan
from pyiceberg.manifest import DataFile
from pyiceberg.table import DataScan, FileScanTask, Table, Transaction
from pyiceberg.table.metadata import TableMetadata
from pyiceberg.table.update.snapshot import _OverwriteFiles
from pyiceberg.types import IntegerType, LongType, StringType, TimestamptzType

from lakehouse.merge_rules import ROW_INDEX, DeleteRule, MarkRule, MergeRule, Scd2Rule, UpsertRule
from lakehouse.write import WriteResult, commit_with_retry, conform, discard_written, write_data_files

logger = logging.getLogger(__name__)

_READ_THREADS = 4
_WRITE_THREADS = 2
_IN_FLIGHT = 4


@dataclass
class _Rewrite:
    """One data file replaced by the files holding its surviving rows."""

    old: DataFile
    new: list[DataFile]
    rows_removed: int


def upsert(
    table: Table,
    data: pa.Table,
    *,
    key: tuple[str, ...] | None = None,
    ignore_columns: tuple[str, ...] = (),
    prune_by: tuple[str, ...] = (),
    properties: Mapping[str, str] | None = None,
    commit_empty: bool = False,
) -> WriteResult:
    """Insert new keys and replace changed rows of existing keys; unchanged rows are left alone.

    Args:
        table: target table.
        data: incoming rows; the last row per key wins.
        key: key columns; defaults to the table's identifier fields.
        ignore_columns: columns whose difference alone does not make a row "changed" (lineage).
        prune_by: columns that never change for a key (an order's time); only files whose range of
            them overlaps the incoming rows' can hold an incoming key, so only those are probed.
        properties: snapshot summary properties committed with the rows.
        commit_empty: commit a snapshot carrying `properties` even when no row changed.
    """
    incoming = conform(table.schema().as_arrow(), data)
    keys = key or _identifier_columns(table)

    def rule() -> MergeRule:
        return UpsertRule(incoming, keys, ignore_columns=ignore_columns, prune_by=prune_by)

    return _run(table, rule, "upsert", properties, commit_empty)


def delete_keys(
    table: Table,
    keys: pa.Table,
    *,
    properties: Mapping[str, str] | None = None,
    commit_empty: bool = False,
) -> WriteResult:
    """Delete every row whose key columns (the columns of `keys`) match one of the given key tuples."""
    typed = _typed_keys(table, keys)
    return _run(table, lambda: DeleteRule(typed, tuple(keys.column_names)), "delete", properties, commit_empty)


def mark(
    table: Table,
    keys: pa.Table,
    assignments: dict[str, object],
    *,
    properties: Mapping[str, str] | None = None,
    commit_empty: bool = False,
) -> WriteResult:
    """Set `assignments` (e.g. is_deleted=True) on every row whose key columns match `keys`."""
    typed = _typed_keys(table, keys)

    def rule() -> MergeRule:
        return MarkRule(typed, tuple(keys.column_names), assignments)

    return _run(table, rule, "mark", properties, commit_empty)


def record_progress(table: Table, properties: Mapping[str, str]) -> WriteResult:
    """Commit a snapshot that changes no row and only carries `properties` (a worker's position)."""

    def run(tx: Transaction) -> WriteResult:
        tx.update_snapshot(snapshot_properties=dict(properties)).fast_append().commit()
        return WriteResult(table=".".join(table.name()), operation="progress")

    return commit_with_retry(table, run)


def _typed_keys(table: Table, keys: pa.Table) -> pa.Table:
    """Key tuples cast to the table's column types, so matching compares like with like."""
    target = table.schema().as_arrow()
    return pa.table({name: keys.column(name).cast(target.field(name).type) for name in keys.column_names})


def scd2_merge(
    table: Table,
    data: pa.Table,
    *,
    key: str,
    valid_from: str = "valid_from",
    valid_to: str = "valid_to",
    is_current: str = "is_current",
    hash_column: str = "attr_hash",
    ignore_columns: tuple[str, ...] = (),
    properties: Mapping[str, str] | None = None,
    commit_empty: bool = False,
) -> WriteResult:
    """Merge new states of entities into an SCD Type 2 table.

    A changed `hash_column` closes the current version (valid_to, is_current=false) and opens a new
    one; other changed columns update the current version in place; states not newer than the
    current version are ignored, so reruns and overlapping runs create no duplicate versions.
    """
    incoming = conform(table.schema().as_arrow(), data)
    columns = (valid_from, valid_to, is_current, hash_column)

    def rule() -> MergeRule:
        return Scd2Rule(incoming, key, columns=columns, ignore_columns=ignore_columns)

    return _run(table, rule, "scd2", properties, commit_empty)


def _identifier_columns(table: Table) -> tuple[str, ...]:
    schema = table.schema()
    names = tuple(schema.find_column_name(fid) for fid in schema.identifier_field_ids)
    if not names:
        raise ValueError(f"{table.name()} has no identifier fields; pass key=")
    return tuple(n for n in names if n is not None)


def _run(
    table: Table,
    make_rule: Callable[[], MergeRule],
    operation: str,
    properties: Mapping[str, str] | None,
    commit_empty: bool,
) -> WriteResult:
    def attempt(tx: Transaction) -> WriteResult:
        return stage_merge(tx, table, make_rule(), operation, properties or {}, commit_empty=commit_empty)

    return commit_with_retry(table, attempt)


def stage_merge(
    tx: Transaction,
    table: Table,
    rule: MergeRule,
    operation: str,
    properties: Mapping[str, str],
    *,
    commit_empty: bool = False,
) -> WriteResult:
    """Stage one merge in `tx` (so several operations can share one commit); see the module docstring.

    A merge that changes nothing commits nothing, unless `commit_empty` asks for a snapshot that
    only carries `properties` (a worker advancing its watermark past unchanged rows).
    """
    producer = tx.update_snapshot(snapshot_properties=dict(properties)).overwrite()
    try:
        return _stage(tx, table, rule, producer, operation, properties, commit_empty)
    except BaseException:
        discard_written(producer)
        raise


def _stage(
    tx: Transaction,
    table: Table,
    rule: MergeRule,
    producer: _OverwriteFiles,
    operation: str,
    properties: Mapping[str, str],
    commit_empty: bool,
) -> WriteResult:
    result = WriteResult(table=".".join(table.name()), operation=operation)
    metadata = tx.table_metadata  # a deep copy on every access in pyiceberg: taken once per merge
    conflict_filter = _key_range_filter(metadata, rule)
    producer.delete_by_predicate(conflict_filter)
    counter = itertools.count(0)

    # Steps 1-2: files whose bounds overlap the keys, then those that really hold one (none without keys).
    scan = DataScan(table_metadata=metadata, io=table.io, row_filter=conflict_filter)
    candidates = list(scan.plan_files()) if len(rule.incoming) else []
    result.files_probed = len(candidates)
    holding = _files_holding_keys(metadata, table, rule, candidates)

    # Step 3: rewrite the files the rule changes.
    for rewrite in _rewrite_files(metadata, table, rule, holding, producer.commit_uuid, counter):
        producer.delete_data_file(rewrite.old)
        for data_file in rewrite.new:
            producer.append_data_file(data_file)
        result.files_removed += 1
        result.files_added += len(rewrite.new)
        result.rows_removed += rewrite.rows_removed

    # Step 4: append what the rule inserts, then commit as one snapshot.
    inserts = rule.finalize()
    result.rows_added = rule.rows_written + len(inserts)
    if len(inserts):
        for data_file in write_data_files(metadata, table, inserts, producer.commit_uuid, counter):
            producer.append_data_file(data_file)
            result.files_added += 1
    if result.files_added or result.files_removed:
        producer.commit()
    elif properties and commit_empty:
        tx.update_snapshot(snapshot_properties=dict(properties)).fast_append().commit()
    result.details = rule.details()
    logger.debug("%s %s: %s", operation, result.table, result)
    return result


def _key_range_filter(metadata: TableMetadata, rule: MergeRule) -> BooleanExpression:
    """min <= value <= max of the incoming rows, on every key (and prune-by) column with ordered literals."""
    schema = metadata.schema()
    bounds: BooleanExpression = AlwaysTrue()
    for name in (*rule.key, *rule.prune_by):
        values = rule.incoming_keys_of(name)
        if not isinstance(schema.find_field(name).field_type, (LongType, IntegerType, StringType, TimestamptzType)):
            continue
        if len(values) == 0 or values.null_count == len(values):
            continue
        span = pc.min_max(values)
        low, high = span["min"].as_py(), span["max"].as_py()
        bounds = And(bounds, And(GreaterThanOrEqual(term=name, value=low), LessThanOrEqual(term=name, value=high)))
    return bounds


def read_file(metadata: TableMetadata, table: Table, task: FileScanTask, columns: tuple[str, ...] | None) -> pa.Table:
    """The rows of one data file (only `columns`, or all), as the table schema reads them."""
    schema = metadata.schema()
    projected = schema.select(*columns) if columns else schema
    scan = ArrowScan(table_metadata=metadata, io=table.io, projected_schema=projected, row_filter=AlwaysTrue())
    return scan.to_table([task])


def _files_holding_keys(
    metadata: TableMetadata, table: Table, rule: MergeRule, candidates: list[FileScanTask]
) -> list[FileScanTask]:
    """Read only the probe columns of each candidate and keep the files with at least one match."""
    if not candidates:
        return []

    def holds(task: FileScanTask) -> bool:
        probe = read_file(metadata, table, task, rule.probe_columns)
        return bool(pc.any(rule.match(probe)).as_py())

    with ThreadPoolExecutor(max_workers=_READ_THREADS) as pool:
        flags = list(pool.map(holds, candidates))
    return [task for task, flag in zip(candidates, flags, strict=True) if flag]


def _rewrite_files(
    metadata: TableMetadata,
    table: Table,
    rule: MergeRule,
    holding: list[FileScanTask],
    write_uuid: uuid.UUID,
    counter: Iterator[int],
) -> Iterator[_Rewrite]:
    """Read holding files, apply the rule to their matching rows, and write each file's survivors.

    Reads and writes run in small thread pools (Arrow and Parquet release the GIL) with a bounded
    number of files in flight, so memory stays at a few files whatever the table's size.
    """
    with ThreadPoolExecutor(_READ_THREADS) as readers, ThreadPoolExecutor(_WRITE_THREADS) as writers:
        reads = _bounded_map(readers, lambda task: read_file(metadata, table, task, None), holding, _IN_FLIGHT)
        pending: deque[tuple[FileScanTask, int, Future[list[DataFile]]]] = deque()
        for task, rows in reads:
            survivors, removed, needs_sort = _apply_rule(rule, rows)
            if survivors is None:
                continue
            job = writers.submit(_write_survivors, metadata, table, survivors, write_uuid, counter, needs_sort)
            pending.append((task, removed, job))
            while len(pending) > _IN_FLIGHT:
                yield _finished(*pending.popleft())
        while pending:
            yield _finished(*pending.popleft())


def _apply_rule(rule: MergeRule, rows: pa.Table) -> tuple[pa.Table | None, int, bool]:
    """A file's new rows after the rule: (rows, or None to keep the file; rows removed; whether to sort).

    Survivors alone keep the file's order; only replacement rows call for a sort.
    """
    rows = rows.append_column(ROW_INDEX, pa.array(range(len(rows)), pa.int64()))
    removed, replacement = rule.decide(rows.filter(rule.match(rows)))
    if len(removed) == 0:
        return None, 0, False
    keep = pc.invert(pc.is_in(rows.column(ROW_INDEX), value_set=removed))
    survivors = rows.filter(keep).drop_columns([ROW_INDEX])
    if len(replacement):
        return pa.concat_tables([survivors, conform(survivors.schema, replacement)]), len(removed), True
    return survivors, len(removed), False


def _write_survivors(
    metadata: TableMetadata,
    table: Table,
    rows: pa.Table,
    write_uuid: uuid.UUID,
    counter: Iterator[int],
    needs_sort: bool,
) -> list[DataFile]:
    if not len(rows):
        return []
    return list(write_data_files(metadata, table, rows, write_uuid, counter, sort=needs_sort))


def _finished(task: FileScanTask, removed: int, job: Future[list[DataFile]]) -> _Rewrite:
    return _Rewrite(old=task.file, new=job.result(), rows_removed=removed)


def _bounded_map(
    pool: ThreadPoolExecutor, function: Callable[[FileScanTask], pa.Table], tasks: list[FileScanTask], window: int
) -> Iterator[tuple[FileScanTask, pa.Table]]:
    """pool.map in order, but with at most `window` results held at once."""
    queue: deque[tuple[FileScanTask, Future[pa.Table]]] = deque()
    for task in tasks:
        queue.append((task, pool.submit(function, task)))
        if len(queue) >= window:
            done_task, future = queue.popleft()
            yield done_task, future.result()
    while queue:
        done_task, future = queue.popleft()
        yield done_task, future.result()
