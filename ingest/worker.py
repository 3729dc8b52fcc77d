"""The batch worker: drain each entity of a source into its raw table, then conform, batch by batch.

Per entity: catch conformed tables up with raw (repairs a crash between the two commits); read the
watermark from the raw table; then repeat (read the next batch after it, land it with the new
watermark in the same commit, conform it) until the source has no more rows or a stop was asked
for. A stop lets the batch in hand finish; a crash loses at most the batch in hand, which the next
run reads again (same batch id, so its quarantine records are not added twice).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Protocol

import polars as pl
import pyarrow as pa

from core.errors import TerminalError
from ingest import quarantine
from ingest.conform import AdvanceReport, advance
from ingest.entities import Entity
from ingest.landing import POSITION, BatchCounts, land_rows, land_text
from ingest.model import BatchContext, ConformEnv
from ingest.suppression import Suppressor, refusals_without_suppressed, without_suppressed
from ingest.validate import type_columns
from lakehouse.lake import Lake
from lakehouse.query import read_arrow, to_frame
from lakehouse.snapshots import last_property
from lakehouse.write import fenced_retrying
from schema import lake as tables
from schema.lake import PROP_WATERMARK
from schema.raw import OP_DELETE

logger = logging.getLogger(__name__)


@dataclass
class Batch:
    """Rows read from a source after a position, with each row's position in `_watermark`."""

    rows: pa.Table
    last: list[object]
    text: bool = True
    source_schema: pa.Schema | None = None
    refused: list[quarantine.QuarantinedRecord] = field(default_factory=list)


class BatchSource(Protocol):
    """What the worker needs from a source."""

    kind: str
    name: str

    def next_batch(self, entity: Entity, after: list[object] | None, limit: int) -> Batch:
        """Rows after `after` in position order, at most `limit` (fewer means the source is drained)."""
        ...

    def live_keys(self, entity: Entity) -> pa.Table:
        """Every key the source holds now (text), for hard-delete reconciliation."""
        ...


@dataclass
class EntityRun:
    """What a run did for one entity."""

    entity: str
    batches: list[BatchCounts] = field(default_factory=list)
    conformed: list[AdvanceReport] = field(default_factory=list)
    deleted: int = 0

    @property
    def read(self) -> int:
        """Rows read from the source."""
        return sum(b.read for b in self.batches)


OnBatch = Callable[[BatchCounts, float], None]


@dataclass
class Worker:
    """Drains entities of one source into the lakehouse; see the module docstring."""

    lake: Lake
    source: BatchSource
    batch_rows: int = 200_000
    stop: threading.Event = field(default_factory=threading.Event)
    on_batch: OnBatch = lambda _counts, _seconds: None
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    suppressor: Suppressor | None = None  # drops records of erased data subjects before they land

    @property
    def watermark_property(self) -> str:
        """Where this source's position is kept in raw snapshot summaries."""
        return f"{PROP_WATERMARK}.{self.source.kind}"

    def run(self, entities: tuple[Entity, ...], *, reconcile: bool = False) -> list[EntityRun]:
        """One pass over `entities`: catch up, drain, optionally reconcile deletes; stops early on request."""
        env = ConformEnv(now=self.clock(), catalogue=self._catalogue)
        runs = []
        for entity in entities:
            if self.stop.is_set():
                break
            run = EntityRun(entity.name, conformed=[advance(self.lake, entity, env)])
            self._drain(entity, env, run)
            if reconcile and not self.stop.is_set():
                run.deleted = self._reconcile(entity, env)
            runs.append(run)
        return runs

    def _drain(self, entity: Entity, env: ConformEnv, run: EntityRun) -> None:
        """Land batches until the source is drained; the next batch is read while this one lands."""
        raw = self.lake.table(entity.raw)
        stored = last_property(raw, self.watermark_property)
        after: list[object] | None = json.loads(stored) if stored else None
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="c360-read") as reader:
            pending = reader.submit(self.source.next_batch, entity, after, self.batch_rows)
            started = time.monotonic()
            while not self.stop.is_set():
                batch = pending.result()
                if not len(batch.rows) and not batch.refused:
                    return
                drained = len(batch.rows) + len(batch.refused) < self.batch_rows
                if not drained:
                    pending = reader.submit(self.source.next_batch, entity, batch.last, self.batch_rows)
                counts = fenced_retrying(partial(self._land, entity, batch, after), what=f"landing {entity.name}")
                run.batches.append(counts)
                run.conformed.append(advance(self.lake, entity, env, landed=counts.landed))
                counts.landed = None
                self.on_batch(counts, time.monotonic() - started)
                started = time.monotonic()
                after = batch.last
                if drained:
                    return

    def _land(self, entity: Entity, batch: Batch, after: list[object] | None) -> BatchCounts:
        """Refusals to the quarantine, rows of erased subjects dropped, the rest to the raw table.

        Runs behind an erasure fence and reads the suppression list inside it: a landing refused
        by an erasure runs again and drops that subject's rows too.
        """
        ctx = self._context(entity, after)
        watermark = json.dumps(batch.last, default=str)
        refused = [_with_batch(r, ctx.batch_id) for r in batch.refused]
        kept, suppressed_refusals = refusals_without_suppressed(refused, self.suppressor)
        quarantine.write(self.lake, kept, at=ctx.ingested_at)
        rows, suppressed = without_suppressed(batch.rows, self.suppressor)
        if batch.text:
            counts = land_text(
                self.lake, entity, rows, ctx, watermark=watermark, source_schema=batch.source_schema,
                empty_is_null=False, watermark_property=self.watermark_property,
            )  # fmt: skip
        else:
            counts = BatchCounts(entity.name, ctx.batch_id, len(rows), len(rows))
            counts.landed = land_rows(
                self.lake, entity, rows, ctx, watermark=watermark, counts=counts,
                watermark_property=self.watermark_property,
            )  # fmt: skip
        counts.read += len(refused) + suppressed
        counts.quarantined += len(kept)
        counts.suppressed = suppressed + suppressed_refusals
        return counts

    def _context(self, entity: Entity, after: list[object] | None) -> BatchContext:
        """Batch ids derive from the position a batch starts after: a re-read batch keeps its id."""
        digest = hashlib.sha256(json.dumps(after, default=str).encode()).hexdigest()[:12]
        return BatchContext(f"{self.source.name}.{entity.name}", f"{entity.name}-{digest}", self.clock())

    def _reconcile(self, entity: Entity, env: ConformEnv) -> int:
        """Land a delete tombstone for every key the lake holds alive but the source no longer has."""
        gone = missing_keys(self.lake, entity, self.source.live_keys(entity))
        if not len(gone):
            return 0
        now = self.clock()
        ctx = BatchContext(f"{self.source.name}.{entity.name}", f"{entity.name}-reconcile-{now:%Y%m%dT%H%M%S}", now)
        tombstones = tombstone_rows(self.lake, entity, gone, ctx.ingested_at)
        counts = BatchCounts(entity.name, ctx.batch_id, len(tombstones), len(tombstones))
        land_rows(self.lake, entity, tombstones, ctx, watermark=None, counts=counts, op=OP_DELETE)
        advance(self.lake, entity, env)
        logger.info("reconciled %s: %d key(s) gone from the source", entity.name, len(tombstones))
        return len(tombstones)

    def _catalogue(self) -> dict[str, str]:
        return product_catalogue(self.lake)


def product_catalogue(lake: Lake) -> dict[str, str]:
    """product_id -> name, for matching marketplace titles."""
    products = read_arrow(lake.table(tables.PRODUCTS), columns=("product_id", "name"))
    return dict(zip(products.column("product_id").to_pylist(), products.column("name").to_pylist(), strict=True))


def _with_batch(record: quarantine.QuarantinedRecord, batch_id: str) -> quarantine.QuarantinedRecord:
    """The record stamped with the batch that refused it, unless the source gave it a batch of its own."""
    return dataclasses.replace(record, batch_id=record.batch_id or batch_id)


def latest_raw_rows(lake: Lake, entity: Entity) -> pl.DataFrame:
    """The newest raw row of every key (by ingestion time, then landing order)."""
    frame = to_frame(read_arrow(lake.table(entity.raw)))
    return frame.with_row_index("__n").sort("_ingested_at", "__n").unique(list(entity.key), keep="last").drop("__n")


def missing_keys(lake: Lake, entity: Entity, live: pa.Table) -> pl.DataFrame:
    """Keys whose newest raw row is not a delete and that the source no longer holds."""
    latest = latest_raw_rows(lake, entity)
    alive = latest.filter(pl.col("_op") != OP_DELETE).select(list(entity.key))
    key_types = pa.schema([f for f in alive.to_arrow().schema if f.name in entity.key])
    typed, bad = type_columns(live.select(list(entity.key)), key_types, frozenset(entity.key), empty_is_null=False)
    if bad:  # a key we cannot compare must not make its row look deleted
        raise TerminalError(
            f"{len(bad)} source key(s) of {entity.name} do not fit the lake's key types", source=entity.name
        )
    return alive.join(to_frame(typed), on=list(entity.key), how="anti")


def tombstone_rows(lake: Lake, entity: Entity, gone: pl.DataFrame, at: datetime) -> pa.Table:
    """Delete rows for `gone` keys: the last landed row (so conformers still know what it was), updated_at = `at`."""
    latest = latest_raw_rows(lake, entity).join(gone, on=list(entity.key), how="semi")
    columns = [c for c in latest.columns if not c.startswith("_")]
    rows = latest.select(columns).with_columns(pl.lit(f"deleted@{at.isoformat()}").alias(POSITION))
    if "updated_at" in columns and entity.name != "marketplace_orders":
        rows = rows.with_columns(pl.lit(at).cast(rows.schema["updated_at"]).alias("updated_at"))
    return rows.to_arrow()
