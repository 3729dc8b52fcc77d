"""When a micro-batch closes: at its size or time limit, or early once the worker has caught up.
No broker: a source hands messages in on a schedule."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping

from ingest.sources.kafka import StreamMessage
from ingest.stream import StreamOptions, StreamWorker
from lakehouse.lake import Lake
from tests.streams import conformed_events, event


def messages(offsets: range) -> list[StreamMessage]:
    return [StreamMessage("events", 0, o, None, json.dumps(event(o + 1)).encode(), None) for o in offsets]


class _Scheduled:
    """Hands in each group of messages once its time (seconds after the first read) has come."""

    def __init__(self, deliveries: list[tuple[float, list[StreamMessage]]]):
        self.deliveries = sorted(deliveries, key=lambda d: d[0])
        self.assigned = {("events", 0)}
        self._start: float | None = None

    def consume(self, max_messages: int, timeout: float) -> list[StreamMessage]:
        now = time.monotonic()
        self._start = self._start if self._start is not None else now
        elapsed = now - self._start
        if self.deliveries and self.deliveries[0][0] <= elapsed:
            return self.deliveries.pop(0)[1]
        next_due = self.deliveries[0][0] - elapsed if self.deliveries else timeout
        time.sleep(max(0.0, min(timeout, next_due)))
        return []

    def seek(self, positions: Mapping[tuple[str, int], int]) -> None:
        pass

    def commit_advisory(self, positions: Mapping[tuple[str, int], int]) -> None:
        pass

    def end_offsets(self, partitions: list[tuple[str, int]]) -> dict[tuple[str, int], int]:
        return {}


def run(lake: Lake, source: _Scheduled, options: StreamOptions) -> StreamWorker:
    worker = StreamWorker(lake, options=options)
    worker.run(source, stop=threading.Event(), idle_seconds=1.5)
    return worker


def test_a_caught_up_worker_commits_without_waiting_out_the_batch_interval(lake: Lake):
    options = StreamOptions(max_batch_seconds=20.0, min_batch_seconds=0.2)
    worker = run(lake, _Scheduled([(0.0, messages(range(10)))]), options)

    assert [b.read for b in worker.batches] == [10]
    batch = worker.batches[0]
    assert 0.2 <= batch.committed_at - batch.opened_at < 10.0, "closed by the interval, not on catching up"
    assert conformed_events(lake).height == 10


def test_a_batch_keeps_collecting_until_its_minimum_age(lake: Lake):
    options = StreamOptions(max_batch_seconds=20.0, min_batch_seconds=1.0)
    worker = run(lake, _Scheduled([(0.0, messages(range(5))), (0.3, messages(range(5, 10)))]), options)

    assert [b.read for b in worker.batches] == [10], "a short read closed a batch younger than its floor"


def test_a_full_batch_closes_at_its_size_even_while_messages_keep_coming(lake: Lake):
    options = StreamOptions(max_batch_messages=40, max_batch_seconds=20.0, min_batch_seconds=2.0)
    deliveries = [(0.05 * n, messages(range(20 * n, 20 * n + 20))) for n in range(5)]
    worker = run(lake, _Scheduled(deliveries), options)

    assert [b.read for b in worker.batches][:2] == [40, 40]
    assert sum(b.read for b in worker.batches) == 100
