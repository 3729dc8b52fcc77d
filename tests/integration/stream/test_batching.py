"""When a micro-batch closes: at its size or time limit, or early once the worker has caught up.
No broker: a source hands messages in on a schedule."""

from __future__ import annotations

import json
import threading

from ingest.sources.kafka import StreamMessage
from ingest.stream import StreamOptions, StreamWorker
from lakehouse.lake import Lake
from tests.streams import Scheduled, conformed_events, event


def messages(offsets: range) -> list[StreamMessage]:
    return [StreamMessage("events", 0, o, None, json.dumps(event(o + 1)).encode(), None) for o in offsets]


def run(lake: Lake, source: Scheduled, options: StreamOptions) -> StreamWorker:
    worker = StreamWorker(lake, options=options)
    worker.run(source, stop=threading.Event(), idle_seconds=1.5)
    return worker


def test_a_caught_up_worker_commits_without_waiting_out_the_batch_interval(lake: Lake):
    options = StreamOptions(max_batch_seconds=20.0, min_batch_seconds=0.2)
    worker = run(lake, Scheduled([(0.0, messages(range(10)))]), options)

    assert [b.read for b in worker.batches] == [10]
    batch = worker.batches[0]
    assert 0.2 <= batch.committed_at - batch.opened_at < 10.0, "closed by the interval, not on catching up"
    assert conformed_events(lake).height == 10


def test_a_batch_keeps_collecting_until_its_minimum_age(lake: Lake):
    options = StreamOptions(max_batch_seconds=20.0, min_batch_seconds=1.0)
    worker = run(lake, Scheduled([(0.0, messages(range(5))), (0.3, messages(range(5, 10)))]), options)

    assert [b.read for b in worker.batches] == [10], "a short read closed a batch younger than its floor"


def test_a_full_batch_closes_at_its_size_even_while_messages_keep_coming(lake: Lake):
    options = StreamOptions(max_batch_messages=40, max_batch_seconds=20.0, min_batch_seconds=2.0)
    deliveries = [(0.05 * n, messages(range(20 * n, 20 * n + 20))) for n in range(5)]
    worker = run(lake, Scheduled(deliveries), options)

    assert [b.read for b in worker.batches][:2] == [40, 40]
    assert sum(b.read for b in worker.batches) == 100
