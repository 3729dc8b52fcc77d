"""Load a directory of source exports (the committed sample) into the raw and conformed tables.

Each file is a source: `users.csv` stands for PostgreSQL's users table, `marketplace_orders.jsonl`
for the MongoDB collection, `events.jsonl` for the Kafka topic. Per file, every record read is
either written or quarantined with a reason, and the counts are reported. Loading is idempotent:
a raw table records the checksum of the file it took in its snapshot summary and skips a file it
already holds, and conformed writes are merges that leave unchanged rows alone.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa

from ingest import normalize
from ingest.events import EventError, EventRules, parse_event
from ingest.marketplace import MappingError, MarketplaceOrder, parse_document
from ingest.products import ProductMatcher
from ingest.quarantine import QuarantinedRecord, to_rows
from ingest.sources.files import checksum, read_csv_batches, read_jsonl
from ingest.validate import Rejection, type_columns
from lakehouse import merge, write
from lakehouse.lake import Lake, Table
from lakehouse.snapshots import last_property
from lakehouse.tables import evolve_to, iceberg_schema
from schema import lake as tables
from schema.lake import PROP_BATCH_ID, PROP_SOURCE, PROP_WATERMARK
from schema.model import TableDef

logger = logging.getLogger(__name__)

LINEAGE = ("_batch_id", "_ingested_at")
Progress = Callable[[str, int], None]


@dataclass
class EntityCounts:
    """Per target table: rows read, written, quarantined and collapsed as duplicates."""

    entity: str
    read: int = 0
    written: int = 0
    quarantined: int = 0
    duplicates: int = 0
    skipped_raw: bool = False

    @property
    def balanced(self) -> bool:
        """Every record read is accounted for."""
        return self.read == self.written + self.quarantined + self.duplicates


@dataclass
class LoadReport:
    """What a load did, per entity."""

    entities: list[EntityCounts] = field(default_factory=list)

    def counts(self, entity: str) -> EntityCounts:
        """The counts of one entity (KeyError if it was not loaded)."""
        for counts in self.entities:
            if counts.entity == entity:
                return counts
        raise KeyError(entity)


def _source_columns(definition: TableDef) -> pa.Schema:
    """The Arrow schema of a raw table's source columns (its lineage columns left out)."""
    fields = [c for c in definition.columns if not c.name.startswith("_")]
    full = iceberg_schema(definition).as_arrow()
    return pa.schema([full.field(c.name) for c in fields])


class FileLoader:
    """Loads one directory; see the module docstring."""

    def __init__(self, lake: Lake, directory: Path, *, progress: Progress | None = None, now: datetime | None = None):
        self.lake = lake
        self.directory = directory
        self.progress = progress or (lambda _step, _n: None)
        self.now = now or datetime.now(UTC)
        self.report = LoadReport()
        self._quarantine: list[QuarantinedRecord] = []

    def run(self) -> LoadReport:
        """Load every entity in dependency order and write the quarantine."""
        self._load_simple("products.csv", tables.RAW_PG_PRODUCTS, tables.PRODUCTS, ("updated_at", "product_id"))
        self._load_simple("stores.csv", tables.RAW_PG_STORES, tables.STORES, ("updated_at", "store_id"))
        self._load_users()
        self._load_orders()
        self._load_inventory()
        self._load_marketplace()
        self._load_events()
        self._write_quarantine()
        for counts in self.report.entities:
            logger.info("loaded %s", counts)
        return self.report

    # --- typed CSV sources -------------------------------------------------------------------------

    def _context(self, name: str, digest: str) -> normalize.BatchContext:
        return normalize.BatchContext(
            source=f"file:{name}", batch_id=f"{Path(name).stem}-{digest[:12]}", ingested_at=self.now
        )

    def _read_typed(self, name: str, raw: TableDef, counts: EntityCounts) -> tuple[pa.Table, normalize.BatchContext]:
        """Read a CSV, type it to the raw table's source columns, quarantine what does not type."""
        path = self.directory / name
        ctx = self._context(name, checksum(path))
        target = _source_columns(raw)
        required = frozenset(c.name for c in raw.columns if c.required and not c.name.startswith("_"))
        batches, offset = [], 0
        for batch in read_csv_batches(path):
            typed, rejections = type_columns(batch, target, required)
            self._reject(rejections, batch, ctx, raw.name, offset=offset, key=raw.columns[0].name)
            counts.read += len(batch)
            counts.quarantined += len(rejections)
            batches.append(typed)
            offset += len(batch)
        rows = pa.concat_tables(batches, promote_options="permissive") if batches else target.empty_table()
        self.progress(name, counts.read)
        return rows, ctx

    def _reject(
        self, rejections: Iterable[Rejection], batch: pa.Table, ctx: normalize.BatchContext, entity: str, *,
        offset: int, key: str,
    ) -> None:  # fmt: skip
        for rejection in rejections:
            row = batch.slice(rejection.index, 1).to_pylist()[0]
            self._quarantine.append(
                QuarantinedRecord(
                    source=ctx.source, entity=entity, position=f"row:{offset + rejection.index + 1}",
                    reason_code=rejection.reason_code, message=rejection.message, payload=row,
                    record_key=None if row.get(key) is None else str(row.get(key)), column=rejection.column,
                )
            )  # fmt: skip

    def _append_raw(self, raw: TableDef, rows: pa.Table, ctx: normalize.BatchContext, order: tuple[str, ...]) -> bool:
        """Append to the raw table unless it already holds this file; True when appended."""
        table = self.lake.table(raw)
        watermark = f"{ctx.source}@{ctx.batch_id}"
        if last_property(table, PROP_WATERMARK) == watermark:
            return False
        evolve_to(table, rows.schema)
        props = {PROP_SOURCE: ctx.source, PROP_BATCH_ID: ctx.batch_id, PROP_WATERMARK: watermark}
        write.append(table, normalize.raw_rows(rows, ctx, order), properties=props)
        return True

    def _conformed(self, definition: TableDef, rows: pa.Table) -> Table:
        """The conformed table, with columns the source gained added first."""
        table = self.lake.table(definition)
        known = set(table.schema().column_names)
        new = pa.schema([f for f in rows.schema if f.name not in known])
        if len(new):
            evolve_to(table, new)
        return table

    def _upsert(self, definition: TableDef, rows: pa.Table, ctx: normalize.BatchContext) -> None:
        props = {PROP_SOURCE: ctx.source, PROP_BATCH_ID: ctx.batch_id}
        merge.upsert(self._conformed(definition, rows), rows, ignore_columns=LINEAGE, properties=props)

    def _load_simple(self, name: str, raw: TableDef, conformed: TableDef, order: tuple[str, ...]) -> None:
        counts = EntityCounts(conformed.name)
        rows, ctx = self._read_typed(name, raw, counts)
        counts.skipped_raw = not self._append_raw(raw, rows, ctx, order)
        self._upsert(conformed, normalize.passthrough(rows, ctx), ctx)
        counts.written = len(rows)
        self.report.entities.append(counts)

    def _load_users(self) -> None:
        counts = EntityCounts("users")
        rows, ctx = self._read_typed("users.csv", tables.RAW_PG_USERS, counts)
        counts.skipped_raw = not self._append_raw(tables.RAW_PG_USERS, rows, ctx, ("updated_at", "user_id"))
        versions = normalize.users(rows, ctx)
        props = {PROP_SOURCE: ctx.source, PROP_BATCH_ID: ctx.batch_id}
        table = self._conformed(tables.USERS, versions)
        merge.scd2_merge(table, versions, key="user_id", ignore_columns=LINEAGE, properties=props)
        counts.written = len(rows)
        self.report.entities.append(counts)

    def _load_orders(self) -> None:
        order_counts, item_counts = EntityCounts("orders"), EntityCounts("order_items")
        orders, ctx = self._read_typed("orders.csv", tables.RAW_PG_ORDERS, order_counts)
        items, item_ctx = self._read_typed("order_items.csv", tables.RAW_PG_ORDER_ITEMS, item_counts)
        order_counts.skipped_raw = not self._append_raw(tables.RAW_PG_ORDERS, orders, ctx, ("updated_at", "order_id"))
        item_counts.skipped_raw = not self._append_raw(
            tables.RAW_PG_ORDER_ITEMS, items, item_ctx, ("updated_at", "order_id", "line_no")
        )
        conformed, rejections = normalize.orders(orders, ctx)
        keys = normalize.order_keys(conformed)
        lines, line_rejections = normalize.order_items(items, item_ctx, keys)
        conformed, _ = normalize.orders(orders, ctx, item_counts=normalize.item_counts(lines))
        self._reject(rejections, orders, ctx, "orders", offset=0, key="order_id")
        self._reject(line_rejections, items, item_ctx, "order_items", offset=0, key="order_id")
        order_counts.quarantined += len(rejections)
        item_counts.quarantined += len(line_rejections)
        self._upsert(tables.ORDERS, conformed, ctx)
        self._upsert(tables.ORDER_ITEMS, lines, item_ctx)
        order_counts.written, item_counts.written = len(conformed), len(lines)
        self.report.entities.extend([order_counts, item_counts])

    def _load_inventory(self) -> None:
        counts = EntityCounts("inventory_snapshots")
        rows, ctx = self._read_typed("inventory_snapshots.csv", tables.RAW_PG_INVENTORY, counts)
        order = ("snapshot_ts", "store_id", "product_id")
        counts.skipped_raw = not self._append_raw(tables.RAW_PG_INVENTORY, rows, ctx, order)
        conformed, rejections = normalize.inventory(rows, ctx)
        self._reject(rejections, rows, ctx, "inventory_snapshots", offset=0, key="store_id")
        counts.quarantined += len(rejections)
        self._upsert(tables.INVENTORY_SNAPSHOTS, conformed, ctx)
        counts.written = len(conformed)
        self.report.entities.append(counts)

    # --- JSON sources --------------------------------------------------------------------------------

    def _load_marketplace(self) -> None:
        name = "marketplace_orders.jsonl"
        counts = EntityCounts("marketplace_orders")
        ctx = self._context(name, checksum(self.directory / name))
        mapped: list[MarketplaceOrder] = []
        raw_rows: list[dict[str, object]] = []
        for batch in read_jsonl(self.directory / name):
            for line in batch:
                counts.read += 1
                raw_row = _raw_document(line.text)
                if raw_row is not None:
                    raw_rows.append(raw_row)
                try:
                    mapped.append(parse_document(line.text))
                except MappingError as exc:
                    counts.quarantined += 1
                    self._quarantine.append(
                        QuarantinedRecord(
                            source=ctx.source, entity="marketplace_orders", position=f"line:{line.line_no}",
                            reason_code=exc.reason_code, message=str(exc), payload=line.text,
                            record_key=None if raw_row is None else str(raw_row["doc_id"]), column=exc.column,
                        )
                    )  # fmt: skip
        self.progress(name, counts.read)
        raw = pa.Table.from_pylist(raw_rows, schema=_source_columns(tables.RAW_MONGO_MARKETPLACE_ORDERS))
        counts.skipped_raw = not self._append_raw(
            tables.RAW_MONGO_MARKETPLACE_ORDERS, raw, ctx, ("updated_at", "doc_id")
        )
        matcher = ProductMatcher(self._catalogue())
        details, unified, lines = normalize.marketplace_rows(mapped, matcher, ctx)
        for definition, rows in (
            (tables.MARKETPLACE_ORDERS, details),
            (tables.ORDERS, unified),
            (tables.ORDER_ITEMS, lines),
        ):
            if len(rows):
                self._upsert(definition, rows, ctx)
        counts.written = len(mapped)
        self.report.entities.append(counts)

    def _catalogue(self) -> dict[str, str]:
        products = self.lake.table(tables.PRODUCTS).scan(selected_fields=("product_id", "name")).to_arrow()
        return dict(zip(products.column("product_id").to_pylist(), products.column("name").to_pylist(), strict=True))

    def _load_events(self) -> None:
        name = "events.jsonl"
        counts = EntityCounts("events")
        ctx = self._context(name, checksum(self.directory / name))
        rows: dict[str, dict[str, object]] = {}
        for batch in read_jsonl(self.directory / name):
            for line in batch:
                counts.read += 1
                try:
                    row = parse_event(line.text, now=self.now, rules=EventRules())
                except EventError as exc:
                    counts.quarantined += 1
                    self._quarantine.append(
                        QuarantinedRecord(
                            source=ctx.source, entity="events", position=f"line:{line.line_no}",
                            reason_code=exc.reason_code, message=str(exc), payload=line.text, column=exc.column,
                        )
                    )  # fmt: skip
                    continue
                if row["event_id"] in rows:
                    counts.duplicates += 1
                row.update({"_topic": f"file:{name}", "_partition": 0, "_offset": line.line_no})
                rows.setdefault(str(row["event_id"]), row)
        self.progress(name, counts.read)
        if rows:
            frame = normalize.event_rows(list(rows.values()), ctx)
            self._upsert(tables.EVENTS, frame, ctx)
        counts.written = len(rows)
        self.report.entities.append(counts)

    def _write_quarantine(self) -> None:
        if not self._quarantine:
            return
        batch_id = f"load-{self.now:%Y%m%dT%H%M%S}"
        rows = to_rows(self._quarantine, batch_id=batch_id, at=self.now)
        merge.upsert(self.lake.table(tables.QUARANTINE), rows, ignore_columns=("batch_id", "quarantined_at"))


def _raw_document(text: str) -> dict[str, object] | None:
    """The raw landing row of a marketplace document, or None when it is not a JSON object with an _id."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError:
        return None
    if not isinstance(doc, dict) or "_id" not in doc:
        return None
    updated = doc.get("LastUpdateDate") or doc.get("lastModifiedDate") or doc.get("lastModified")
    updated_at: datetime | None
    if isinstance(updated, (int, float)) and not isinstance(updated, bool):
        updated_at = datetime.fromtimestamp(updated / 1000, UTC)
    else:
        try:
            updated_at = datetime.fromisoformat(str(updated).replace("Z", "+00:00")) if updated else None
        except ValueError:
            updated_at = None
    return {"doc_id": str(doc["_id"]), "platform": doc.get("platform"), "updated_at": updated_at, "document": text}
