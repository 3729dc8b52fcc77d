"""Bring conformed tables up to date with their raw table, one raw snapshot at a time.

The primary conformed table of an entity records, in its snapshot summary, the raw snapshot it has
taken in (`c360.raw.<raw table>`). Advancing reads the rows appended by every later raw snapshot,
conforms them and merges them; all writes of one raw snapshot are idempotent, and the marker moves
with the last of them. A crash between the raw commit and here (or between two of these writes) is
therefore repaired by the next run, which re-takes the raw snapshots the marker has not passed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import pyarrow as pa

from ingest import quarantine
from ingest.entities import Entity
from ingest.model import Conformed, ConformEnv, Write
from lakehouse import merge
from lakehouse.lake import Lake, Table
from lakehouse.snapshots import appended_since, last_property
from lakehouse.tables import evolve_to, iceberg_type_of
from lakehouse.write import fenced_retrying
from schema.lake import PROP_RAW_CONSUMED

logger = logging.getLogger(__name__)


@dataclass
class AdvanceReport:
    """What catching a conformed table up did."""

    entity: str
    raw_snapshots: int = 0
    rows_in: int = 0
    rows_rejected: int = 0
    rejected: list[quarantine.QuarantinedRecord] = field(default_factory=list, repr=False)
    merged: list[pa.Table] = field(default_factory=list, repr=False)  # rows merged into the primary table


def marker(entity: Entity) -> str:
    """The summary property in which the primary conformed table records the raw snapshot it took in."""
    return PROP_RAW_CONSUMED + entity.raw.name


def consumed_snapshot(lake: Lake, entity: Entity) -> int | None:
    """The raw snapshot the entity's conformed tables have taken in, or None before the first."""
    value = last_property(lake.table(entity.primary), marker(entity))
    return int(value) if value else None


def advance(
    lake: Lake, entity: Entity, env: ConformEnv, *, landed: tuple[int, pa.Table] | None = None
) -> AdvanceReport:
    """Conform and merge every raw snapshot the conformed tables have not taken in yet.

    `landed` is a raw snapshot the caller has just committed, with its rows: those are used as they
    are instead of being read back. Fenced against erasures: an erasure committing on a table this
    writes after its raw rows were read refuses the write, and the rest runs again on the raw table
    as the erasure left it (read back, `landed` or not).
    """
    report = AdvanceReport(entity.name)
    attempts = iter((landed,))  # the first attempt may use the landed rows; a second reads them back
    fenced_retrying(lambda: _take_in(lake, entity, env, next(attempts, None), report), what=f"conforming {entity.name}")
    if report.raw_snapshots:
        logger.info("conformed %s: %s", entity.name, report)
    return report


def _take_in(
    lake: Lake, entity: Entity, env: ConformEnv, landed: tuple[int, pa.Table] | None, report: AdvanceReport
) -> None:
    """Conform the raw snapshots not taken in yet, adding to `report` as each one's writes commit."""
    raw = lake.table(entity.raw)
    for snapshot_id, load in appended_since(raw, consumed_snapshot(lake, entity)):
        rows = landed[1] if landed is not None and landed[0] == snapshot_id else load()
        conformed = entity.conform(rows, env) if len(rows) else Conformed()
        records = quarantine.from_conforming(conformed.rejections, entity.raw.full_name, entity.primary.full_name)
        quarantine.write(lake, records, at=env.now)
        apply_writes(lake, entity, raw, conformed.writes, {marker(entity): str(snapshot_id)})
        report.merged.extend(w.rows for w in conformed.writes if w.table == entity.primary and len(w.rows))
        report.raw_snapshots += 1
        report.rows_in += len(rows)
        report.rows_rejected += len(records)
        report.rejected.extend(records)


def apply_writes(lake: Lake, entity: Entity, raw: Table, writes: list[Write], progress: dict[str, str]) -> None:
    """Run the writes; the last one on the primary table carries the progress marker."""
    primary_writes = [w for w in writes if w.table == entity.primary]
    ordered = [w for w in writes if w.table != entity.primary] + primary_writes
    if not primary_writes:
        ordered.append(Write(entity.primary, "upsert", pa.table({})))
    for index, write in enumerate(ordered):
        last = index == len(ordered) - 1
        _merge(lake, raw, write, progress if last else {}, commit_empty=last)


def _merge(lake: Lake, raw: Table, write: Write, properties: dict[str, str], *, commit_empty: bool) -> None:
    table = lake.table(write.table)
    if not len(write.rows):
        if commit_empty and properties:
            merge.record_progress(table, properties)
        return
    _fit_schema(table, raw, write.rows)
    lineage = tuple(c for c in write.rows.column_names if c.startswith("_"))
    if write.kind == "upsert":
        merge.upsert(
            table, write.rows, ignore_columns=lineage, prune_by=write.table.immutable, properties=properties,
            commit_empty=commit_empty,
        )  # fmt: skip
    elif write.kind == "scd2":
        key = write.table.key[0]
        merge.scd2_merge(
            table, write.rows, key=key, ignore_columns=lineage, properties=properties, commit_empty=commit_empty
        )
    elif write.kind == "mark":
        merge.mark(table, write.rows, write.assignments, properties=properties, commit_empty=commit_empty)
    else:
        merge.delete_keys(table, write.rows, properties=properties, commit_empty=commit_empty)


def _fit_schema(table: Table, raw: Table, rows: pa.Table) -> None:
    """Give the conformed table the columns the source gained, and the widenings its raw table took.

    Columns computed by the conformers keep their declared types; only columns that come from the
    raw table follow its type, so a widened source column widens its conformed copy too.
    """
    present = set(table.schema().column_names)
    raw_types = {f.name: f.type for f in raw.schema().as_arrow()}
    fields = []
    for column in rows.schema:
        if column.name.startswith("_"):
            continue
        if column.name not in present:
            fields.append(column)
        elif column.name in raw_types and iceberg_type_of(column.type) == iceberg_type_of(raw_types[column.name]):
            fields.append(pa.field(column.name, raw_types[column.name]))
    if fields:
        evolve_to(table, pa.schema(fields), refuse_incompatible=False)
