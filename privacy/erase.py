"""Erasure in the lakehouse: delete the subject's rows from every table, purge old files, prove it.

0. Once the subject's identifiers are suppressed, every table is marked with the erasure: a writer
   that read the suppression list or its inputs before the mark is refused when it commits
   (`lakehouse.write.fenced_against_erasure`) and reads them again. What landed before the mark,
   the subject is resolved again to find.
1. Each table's rows of the subject are deleted by key with the file-level delete: only the data
   files holding them are rewritten, without those rows.
2. Every touched table then expires its older snapshots and deletes each file no snapshot or
   metadata file references: time travel can no longer reach the deleted rows.
3. Every file left under every table's location is searched for the subject's identifier values.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import polars as pl
import pyarrow as pa

from lakehouse.lake import Lake
from lakehouse.maintenance import expire_and_sweep
from lakehouse.merge import delete_keys
from lakehouse.query import read_polars
from lakehouse.scan import occurs, scan_table
from lakehouse.snapshots import erasure_properties, totals
from lakehouse.write import mark
from privacy.subject import Subject
from schema import lake as tables
from schema.lake import PROP_ERASURE
from schema.model import TableDef

logger = logging.getLogger(__name__)
# Iceberg snapshot summary fields: a copy-on-write delete removes whole files and adds their kept rows back
DELETE_FIELDS = ("deleted-records", "added-records", "deleted-data-files")


@dataclass
class TableReceipt:
    """What erasure did to one table (counts only: a receipt holds no personal data)."""

    table: str
    rows_deleted: int = 0
    files_rewritten: int = 0  # data files replaced by a copy without the subject's rows
    files_removed: int = 0  # files deleted from storage: old data, manifests, manifest lists, metadata
    snapshots_expired: int = 0
    files_searched: int = 0
    clean: bool | None = None  # None until verified

    @property
    def touched(self) -> bool:
        return self.rows_deleted > 0


@dataclass
class ErasureReport:
    """Per table receipts, and whether every file of every table came out clean."""

    tables: list[TableReceipt] = field(default_factory=list)

    @property
    def verified(self) -> bool:
        return all(t.clean for t in self.tables)


def deletions(subject: Subject, quarantined: list[str]) -> Iterator[tuple[TableDef, pa.Table]]:
    """The keys to delete from each table: one (table, key columns) pair per way the table names the subject."""

    def keys(**columns: Sequence[object]) -> pa.Table:
        return pa.table({name: list(values) for name, values in columns.items()})

    users, customers = list(subject.user_ids), list(subject.customer_ids)
    source_orders, orders = list(subject.source_order_ids), list(subject.order_ids)
    positions = subject.event_positions
    # raw events are keyed by device, else account (`ingest.replay_events.message_key`)
    message_keys: list[object] = [*subject.devices, *(str(u) for u in subject.user_ids)]
    yield tables.RAW_PG_USERS, keys(user_id=users)
    yield tables.RAW_PG_ORDERS, keys(order_id=source_orders)
    yield tables.RAW_PG_ORDER_ITEMS, keys(order_id=source_orders)
    yield tables.RAW_MONGO_MARKETPLACE_ORDERS, keys(doc_id=list(subject.marketplace_docs))
    yield tables.RAW_EVENTS, keys(topic=[p[0] for p in positions], partition=[p[1] for p in positions],
                                  offset=[p[2] for p in positions])  # fmt: skip
    yield tables.RAW_EVENTS, keys(message_key=message_keys)
    yield tables.USERS, keys(user_id=users)
    yield tables.ORDERS, keys(order_id=orders)
    yield tables.ORDER_ITEMS, keys(order_id=orders)
    yield tables.MARKETPLACE_ORDERS, keys(doc_id=list(subject.marketplace_docs))
    yield tables.EVENTS, keys(event_id=list(subject.event_ids))
    for gold in (tables.CUSTOMERS, tables.IDENTITY_LINKS, tables.IDENTITY_EVIDENCE, tables.CUSTOMER_METRICS,
                 tables.RISK_SCORES):  # fmt: skip
        yield gold, keys(customer_id=customers)
    # an identifier's own evidence rows (a household marker, say) belong to no customer
    yield tables.IDENTITY_EVIDENCE, keys(target_kind=[k for k, _ in subject.identifiers],
                                         target_value=[v for _, v in subject.identifiers])  # fmt: skip
    # id moves into the subject; a move of an old id into a household member is the member's history
    yield tables.CUSTOMER_ID_CHANGES, keys(new_customer_id=customers)
    yield tables.QUARANTINE, keys(quarantine_id=list(quarantined))


def quarantined_rows(lake: Lake, subject: Subject) -> list[str]:
    """Quarantined records of the subject: their key is one of theirs (in its own table), or their payload
    holds one of their values as a whole value, whatever its case."""
    rows = read_polars(lake.table(tables.QUARANTINE), columns=("quarantine_id", "entity", "record_key", "payload"))
    users, orders = [str(u) for u in subject.user_ids], [str(i) for i in subject.source_order_ids]
    keys_by_table = {
        tables.RAW_PG_USERS.full_name: users, tables.USERS.full_name: users,
        tables.RAW_PG_ORDERS.full_name: orders, tables.ORDERS.full_name: list(subject.order_ids),
        tables.RAW_MONGO_MARKETPLACE_ORDERS.full_name: list(subject.marketplace_docs),
        tables.MARKETPLACE_ORDERS.full_name: list(subject.marketplace_docs),
        tables.EVENTS.full_name: list(subject.event_ids),
    }  # fmt: skip

    def among(column: pl.Expr, values: list[str]) -> pl.Expr:
        return column.is_in(pl.Series(values, dtype=pl.String).implode())

    by_key = pl.any_horizontal(
        (pl.col("entity") == name) & among(pl.col("record_key"), keys) for name, keys in keys_by_table.items()
    )
    # refused events have no key: their payload names the account, or a device only the subject used
    payload = pl.col("payload")
    by_event = pl.col("entity").is_in([tables.EVENTS.full_name, tables.RAW_EVENTS.full_name]) & (
        among(payload.str.json_path_match("$.user_id"), users)
        | among(payload.str.json_path_match("$.device_id").str.to_lowercase(), list(subject.devices))
    )
    found = set(rows.filter((by_key | by_event).fill_null(False))["quarantine_id"])
    needles = [n.lower() for n in subject.needles()]
    if needles:
        lowered = rows.filter(pl.col("payload").str.to_lowercase().str.contains_any(needles).fill_null(False))
        for quarantine_id, payload in lowered.select("quarantine_id", pl.col("payload").str.to_lowercase()).iter_rows():
            if any(occurs(payload.encode(), n.encode()) for n in needles):
                found.add(quarantine_id)
    return sorted(found)


def mark_tables(lake: Lake, *, request_id: str) -> None:
    """Step 0: mark every table with the erasure, whether or not it holds the subject's rows yet."""
    properties = erasure_properties(request_id, datetime.now(UTC))
    for definition in tables.ALL_TABLES:
        mark(lake.table(definition), properties)


def delete_rows(lake: Lake, subject: Subject, *, request_id: str) -> dict[str, TableReceipt]:
    """Step 1: delete the subject's rows from every table; what the request's deletes did, per table.

    Each delete snapshot carries the request id, and the counts are read back from those snapshots:
    after a crash halfway, running this again deletes the rest and still counts every row.
    """
    for definition, keys in deletions(subject, quarantined_rows(lake, subject)):
        if len(keys):
            delete_keys(lake.table(definition), keys, properties=erasure_properties(request_id, datetime.now(UTC)))
    receipts = {}
    for definition in tables.ALL_TABLES:
        done = totals(lake.table(definition), carrying=(PROP_ERASURE, request_id), fields=DELETE_FIELDS)
        receipts[definition.full_name] = TableReceipt(
            definition.full_name,
            rows_deleted=done["deleted-records"] - done["added-records"],
            files_rewritten=done["deleted-data-files"],
        )
    return receipts


def purge_history(lake: Lake, receipts: dict[str, TableReceipt], *, min_age_seconds: float) -> None:
    """Step 2: expire every snapshot of the touched tables but the newest, and delete the files only they referenced.

    Expiry goes by the wall clock, whatever clock stamps the records: every snapshot committed
    before now goes. `min_age_seconds` spares files younger than that: a concurrent writer's
    commit in flight.
    """
    now = datetime.now(UTC)
    for receipt in receipts.values():
        if not receipt.touched:
            continue
        swept = expire_and_sweep(
            lake.table(tables.table_by_name(receipt.table)), older_than=now, min_age_seconds=min_age_seconds
        )
        receipt.snapshots_expired += swept.snapshots_expired
        receipt.files_removed += swept.files_deleted


def verify(lake: Lake, subject: Subject, receipts: dict[str, TableReceipt]) -> ErasureReport:
    """Step 3: search every file of every table for the subject's identifier values."""
    needles = subject.needles()
    for definition in tables.ALL_TABLES:
        scan = scan_table(lake.table(definition), needles)
        receipt = receipts[definition.full_name]
        receipt.files_searched, receipt.clean = scan.files_read, scan.clean
        if not scan.clean:
            logger.error("%s: %d file(s) still hold the subject's values", receipt.table, len(scan.found))
    return ErasureReport(list(receipts.values()))


def erase_from_lake(lake: Lake, subject: Subject, *, request_id: str, min_age_seconds: float) -> ErasureReport:
    """Every step, in order."""
    receipts = delete_rows(lake, subject, request_id=request_id)
    purge_history(lake, receipts, min_age_seconds=min_age_seconds)
    return verify(lake, subject, receipts)
