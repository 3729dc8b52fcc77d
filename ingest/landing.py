"""Land a batch in its raw table: type it, quarantine what does not fit, append with its position.

The raw append is the commit of record: it carries the batch's source position (watermark), batch
id, counts and schema changes in its snapshot summary, so progress can never run ahead of data.
Quarantine is written first and idempotently, so a crash before the append loses nothing and a
re-read of the batch adds nothing twice.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field

import pyarrow as pa

from ingest import quarantine
from ingest.entities import Entity
from ingest.model import BatchContext
from ingest.validate import type_columns
from lakehouse import write
from lakehouse.lake import Lake, Table
from lakehouse.tables import evolve_to
from schema.lake import PROP_BATCH_ID, PROP_COUNTS, PROP_SCHEMA_CHANGES, PROP_SOURCE, PROP_WATERMARK
from schema.raw import OP_UPSERT

logger = logging.getLogger(__name__)

POSITION = "_watermark"


@dataclass
class BatchCounts:
    """Per batch: rows read = rows written + rows quarantined."""

    entity: str
    batch_id: str
    read: int = 0
    written: int = 0
    quarantined: int = 0
    suppressed: int = 0  # records of erased data subjects, dropped unwritten
    schema_changes: list[str] = field(default_factory=list)
    quarantine_ids: list[str] = field(default_factory=list)
    landed: tuple[int, pa.Table] | None = field(default=None, repr=False)

    @property
    def balanced(self) -> bool:
        """Every row read is accounted for."""
        return self.read == self.written + self.quarantined + self.suppressed


def land_text(
    lake: Lake,
    entity: Entity,
    batch: pa.Table,
    ctx: BatchContext,
    *,
    watermark: str | None,
    watermark_property: str = PROP_WATERMARK,
    source_schema: pa.Schema | None = None,
    empty_is_null: bool = True,
) -> BatchCounts:
    """Land a batch of text columns (CSV, COPY output) that carries each row's position in `_watermark`.

    The raw table first takes the columns the source gained and the widenings it made
    (`source_schema`, else new columns as text); an incompatible change is refused and the values
    that do not fit the kept type are quarantined with the column and the reason.
    """
    raw = lake.table(entity.raw)
    present = set(raw.schema().column_names)
    new_text = [(name, pa.string()) for name in batch.column_names if name not in present and name != POSITION]
    incoming = source_schema or pa.schema(new_text)
    evolution = evolve_to(raw, incoming, refuse_incompatible=False)
    target = pa.schema([f for f in raw.schema().as_arrow() if not f.name.startswith("_")])
    required = frozenset(f.name for f in target if not f.nullable)
    typed, rejections = type_columns(batch, target, required, empty_is_null=empty_is_null)
    records = quarantine.from_typing(rejections, batch, ctx, entity.raw.full_name, key=entity.key[0])
    quarantine.write(lake, records, at=ctx.ingested_at)
    counts = BatchCounts(
        entity.name, ctx.batch_id, len(batch), len(typed), len(records), schema_changes=evolution.changes
    )
    counts.quarantine_ids = [r.quarantine_id for r in records]
    counts.landed = land_rows(
        lake, entity, typed, ctx, watermark=watermark, counts=counts, watermark_property=watermark_property
    )
    return counts


def land_rows(
    lake: Lake,
    entity: Entity,
    rows: pa.Table,
    ctx: BatchContext,
    *,
    watermark: str | None,
    counts: BatchCounts,
    op: str = OP_UPSERT,
    watermark_property: str = PROP_WATERMARK,
) -> tuple[int, pa.Table]:
    """Append typed rows (source columns and `_watermark`) to the raw table with the batch's position.

    Returns the raw snapshot committed and the rows as stored, for conforming without a read-back.
    """
    table = lake.table(entity.raw)
    rows = with_lineage(table, rows, ctx, op)
    properties = batch_properties(ctx, counts)
    if watermark is not None:
        properties[watermark_property] = watermark
    result = write.append(table, rows, properties=properties)
    logger.info("landed %s", counts)
    if result.snapshot_id is None:
        raise AssertionError("an append always commits a snapshot")
    return result.snapshot_id, rows


def with_lineage(table: Table, rows: pa.Table, ctx: BatchContext, op: str = OP_UPSERT) -> pa.Table:
    """The rows with the batch's lineage columns, conformed to the raw table."""
    n = len(rows)
    lineage = {
        "_source": pa.scalar(ctx.source, pa.string()),
        "_batch_id": pa.scalar(ctx.batch_id, pa.string()),
        "_ingested_at": pa.scalar(ctx.ingested_at, pa.timestamp("us", tz="UTC")),
        "_op": pa.scalar(op, pa.string()),
    }
    for name, value in lineage.items():
        rows = rows.append_column(name, pa.repeat(value, n))
    return write.conform(table.schema().as_arrow(), rows)


def batch_properties(ctx: BatchContext, counts: BatchCounts) -> dict[str, str]:
    """The summary properties every raw commit carries: its source, batch id, counts and schema changes."""
    properties = {
        PROP_SOURCE: ctx.source,
        PROP_BATCH_ID: ctx.batch_id,
        PROP_COUNTS: json.dumps({"read": counts.read, "written": counts.written, "quarantined": counts.quarantined}),
    }
    if counts.schema_changes:
        properties[PROP_SCHEMA_CHANGES] = "; ".join(counts.schema_changes)
    return properties
