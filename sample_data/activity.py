"""Per-person orders, marketplace documents and events, drawn in chunks and written in time order.

Why chunks: people are split into fixed-size chunks, each with its own RNG stream seeded from
(seed, chunk), so chunks can run in parallel processes and still give the same bytes as a serial
run. Each chunk spools its rows to key-sorted runs on disk; write_activity() merges all runs,
numbers the orders by time and swaps the order placeholders in purchase events for real ids.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sample_data.events import BAD_KINDS, Event, EventBuilder, corrupt_event
from sample_data.formats import between, iso_s, money
from sample_data.fraud import PATTERNS, FraudActivity, Label
from sample_data.marketplace import MarketDocs
from sample_data.orders import Order, OrderPlanner
from sample_data.people import Person
from sample_data.world import World
from sample_data.writer import Outputs, Spool, merge_runs

ORDER_ID_START = 100_001
SEQ_STRIDE = 100_000_000  # order sequence numbers of chunk c start at c * SEQ_STRIDE
ORDER_TOKEN = re.compile(r'"@@ORDER(\d+)@@"')
EARLY_BAD_EVENTS = frozenset({150, 900, 2_100})
BAD_EVENT_EVERY = 4_001
EARLY_REDELIVERIES = frozenset({50, 1_500, 3_000})
REDELIVER_EVERY = 997
RANK = {pattern: i for i, pattern in enumerate(PATTERNS)}

_ENCODER = json.JSONEncoder(ensure_ascii=False)

# (pattern rank, person index, pattern, person_id, source, key or order sequence number)
LabelRow = tuple[int, int, str, str, str, str | int]


def dumps(doc: object) -> str:
    """One JSON line; non-ASCII kept readable (José, not Jos\\u00e9)."""
    return _ENCODER.encode(doc)


@dataclass(slots=True)
class ChunkResult:
    """What a chunk hands back: its sorted run files and its truth rows (picklable)."""

    orders: list[Path]
    market: list[Path]
    events: list[Path]
    events_truth: Path  # truth/records.csv rows of this chunk's events, in generation order
    events_truth_rows: int
    labels: list[LabelRow] = field(default_factory=list)
    bad: list[list[str]] = field(default_factory=list)


def label_row(label: Label, doc_ids: dict[int, str] | None = None) -> LabelRow:
    """Flatten a label; order keys stay sequence numbers until ids exist, marketplace keys become _ids."""
    key: str | int = label.key if isinstance(label.key, str) else label.key.seq
    if isinstance(key, int) and label.source == "marketplace_orders" and doc_ids is not None:
        key = doc_ids[key]
    return RANK[label.pattern], label.person.index, label.pattern, label.person.person_id, label.source, key


class ChunkWriter:
    """Draws the activity of one chunk of people and spools it to sorted runs."""

    def __init__(self, world: World, seed: int, chunk: int, tmp_dir: Path) -> None:
        rng = random.Random(f"{seed}:{chunk}")
        self.rng = rng
        self.world = world
        self.planner = OrderPlanner(rng, world.products, world.off_catalog, world.stores)
        self.planner.seq = chunk * SEQ_STRIDE
        self.fraud = FraudActivity(rng, self.planner)
        self.events = EventBuilder(rng, world.products)
        self.market = MarketDocs(rng, chunk)
        self.chunk = chunk
        self.orders_spool = Spool(tmp_dir, f"orders-{chunk:05d}")
        self.market_spool = Spool(tmp_dir, f"market-{chunk:05d}")
        self.events_spool = Spool(tmp_dir, f"events-{chunk:05d}")
        self.events_truth = tmp_dir / f"events-truth-{chunk:05d}.csv"
        self._truth = self.events_truth.open("w", encoding="utf-8", newline="")
        self.labels: list[Label] = []
        self.bad: list[list[str]] = []
        self.doc_ids: dict[int, str] = {}
        self.event_count = 0
        self.bad_events = 0
        self.pending_bad = False

    def person(self, person: Person) -> None:
        """Draw and spool everything one person does."""
        orders, sessions, labels = self.fraud.apply(person, self.planner.plan(person))
        self.labels += labels
        orders.sort(key=lambda o: (o.ts_s, o.seq))
        for order in orders:
            if order.channel in ("web", "pos"):
                self._spool_order(order)
            else:
                self._spool_market(order)
        if person.uses_kiosk and person.home_store is not None:
            kiosk = self.world.kiosks[person.home_store.store_id]
            visits = [o.ts_s for o in orders if o.channel == "pos" and o.store is person.home_store]
            sessions += self.events.kiosk_sessions(person, kiosk, visits)
        for event in self.events.person_events(person, orders, sessions):
            self._spool_event(person, event)

    def close(self) -> ChunkResult:
        """Finish the runs and hand back paths and truth rows."""
        labels = [label_row(label, self.doc_ids) for label in self.labels]
        self._truth.close()
        return ChunkResult(self.orders_spool.close(), self.market_spool.close(), self.events_spool.close(),
                           self.events_truth, self.event_count, labels, self.bad)  # fmt: skip

    def _spool_order(self, order: Order) -> None:
        items = ";".join(f"{ln.product.product_id}|{ln.quantity}|{money(ln.unit_cents)}" for ln in order.lines)
        row = [
            str(order.seq), order.person.person_id, order.channel,
            str(order.account.user_id) if order.account else "",
            order.store.store_id if order.store else "", order.loyalty_id, order.phone, order.email,
            order.device.device_id if order.device else "", order.status, order.currency,
            money(order.total_cents), iso_s(order.ts_s), iso_s(order.updated_s),
            iso_s(order.deleted_s) if order.deleted_s is not None else "", items,
        ]  # fmt: skip
        # Tab-separated, not JSON: generated values hold no tabs, and this runs once per order.
        self.orders_spool.add(f"{order.ts_s:011d}{order.seq:013d}", "\t".join(row))

    def _spool_market(self, order: Order) -> None:
        doc_id, doc, problem = self.market.build(order)
        if problem:
            self.bad.append(["marketplace_orders", doc_id, problem])
        if order.fraud:
            self.doc_ids[order.seq] = doc_id
        key = f"{order.ts_s:011d}{order.seq:013d}"
        self.market_spool.add(key, f"{order.person.person_id}\t{doc_id}\t{dumps(doc)}")

    def _spool_event(self, person: Person, event: Event) -> None:
        self.event_count += 1
        count, event_id, line = self.event_count, event.event_id, event.line
        if event.label:
            self.labels.append(Label(event.label, person, "events", event_id))
        if count in EARLY_BAD_EVENTS or count % BAD_EVENT_EVERY == BAD_EVENT_EVERY // 2:
            self.pending_bad = True
        if self.pending_bad and not event.label:
            line = self._corrupt(event_id, line)
        key = f"{event.ts_ms:014d}{self.chunk:05d}{count:09d}"
        self.events_spool.add(key, line)
        self._truth.write(f"events,{event_id},{person.person_id}\n")
        if count in EARLY_REDELIVERIES or count % REDELIVER_EVERY == REDELIVER_EVERY // 2:
            later = event.ts_ms + between(self.rng, 5_000, 900_000)
            self.events_spool.add(f"{later:014d}{self.chunk:05d}{count:09d}", line)
            self.bad.append(["events", event_id, "duplicate_delivery"])

    def _corrupt(self, event_id: str, line: str) -> str:
        """Break this event (the next kind in turn) and record it in the bad-records truth."""
        kind = BAD_KINDS[self.bad_events % len(BAD_KINDS)]
        self.bad_events += 1
        self.pending_bad = False
        doc = json.loads(line)
        corrupt_event(self.rng, doc, kind)
        self.bad.append(["events", event_id, kind])
        return dumps(doc)


def run_chunk(world: World, seed: int, chunk: int, size: int, tmp_dir: Path) -> ChunkResult:
    """Generate the activity of people [chunk * size, (chunk + 1) * size)."""
    writer = ChunkWriter(world, seed, chunk, tmp_dir)
    for person in world.people[chunk * size : (chunk + 1) * size]:
        writer.person(person)
    return writer.close()


def write_activity(out: Outputs, world: World, results: Iterable[ChunkResult]) -> None:
    """Merge every chunk's runs into the source files, then write fraud and bad-record truth."""
    results = list(results)
    order_ids = _write_orders(out, [p for r in results for p in r.orders])
    for payload in merge_runs([p for r in results for p in r.market]):
        person_id, doc_id, line = payload.split("\t", 2)
        out.line("marketplace_orders.jsonl", line)
        out.truth("marketplace_orders", doc_id, person_id)
    _write_events(out, [p for r in results for p in r.events], order_ids)
    for result in results:
        out.append_truth(result.events_truth, result.events_truth_rows)
    labels = [label_row(label) for label in world.labels] + [row for r in results for row in r.labels]
    for _rank, _index, pattern, person_id, source, key in sorted(labels, key=lambda row: row[:2]):
        out.row("truth/fraud.csv", [pattern, person_id, source, str(order_ids[key]) if isinstance(key, int) else key])
    for row in (row for r in results for row in r.bad):
        out.row("truth/bad_records.csv", row)


def _write_orders(out: Outputs, runs: list[Path]) -> dict[int, int]:
    """orders.csv and order_items.csv in time order; ids are numbered here, so they rise with order_ts."""
    order_ids: dict[int, int] = {}
    for order_id, payload in enumerate(merge_runs(runs), start=ORDER_ID_START):
        seq, person_id, *row, items = payload.split("\t")
        order_ids[int(seq)] = order_id
        out.row("orders.csv", [str(order_id), *row])
        for line_no, item in enumerate(items.split(";"), start=1):
            out.row("order_items.csv", [str(order_id), str(line_no), *item.split("|"), row[11]])
        out.truth("orders", str(order_id), person_id)
    return order_ids


def _write_events(out: Outputs, runs: list[Path], order_ids: dict[int, int]) -> None:
    """events.jsonl in time order, with purchase placeholders swapped for order ids (the hot loop of big runs)."""

    def swap(match: re.Match[str]) -> str:
        return str(order_ids[int(match.group(1))])

    out.lines("events.jsonl", (ORDER_TOKEN.sub(swap, line) if "@@ORDER" in line else line for line in merge_runs(runs)))
