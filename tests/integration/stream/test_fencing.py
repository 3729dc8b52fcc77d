"""Fencing of stream commits: a member that lost its partitions (a zombie) or races another member
over the same messages can never write an offset twice. No broker: messages are handed in directly."""

from __future__ import annotations

import json
import threading

from core.config import Settings
from ingest.offsets import committed
from ingest.sources.kafka import StreamMessage
from ingest.stream import StreamOptions, StreamWorker
from lakehouse.lake import Lake
from schema import lake as tables
from tests.streams import HandedIn, conformed_events, event, raw_events


def messages(partition: int, offsets: range, topic: str = "events") -> list[StreamMessage]:
    return [
        StreamMessage(topic, partition, o, None, json.dumps(event(partition * 10_000 + o)).encode(), None)
        for o in offsets
    ]


def run_once(lake: Lake, source: HandedIn) -> StreamWorker:
    worker = StreamWorker(lake, options=StreamOptions(max_batch_seconds=0.01))
    worker.run(source, stop=threading.Event(), idle_seconds=0.05)
    return worker


def test_a_zombie_batch_overlapping_committed_offsets_lands_only_what_is_new(lake: Lake):
    run_once(lake, HandedIn(messages(0, range(0, 10)) + messages(1, range(0, 5))))

    zombie_source = HandedIn(messages(0, range(5, 15)) + messages(1, range(0, 5)))
    zombie = run_once(lake, zombie_source)

    assert [(b.read, b.landed, b.skipped) for b in zombie.batches] == [(15, 5, 10)]
    raw = raw_events(lake)
    assert raw.height == 20 and raw.select("partition", "offset").n_unique() == 20
    assert committed(lake.table(tables.RAW_EVENTS)) == {("events", 0): 15, ("events", 1): 5}
    assert zombie_source.sought, "the zombie did not move its consumer past what the table holds"
    assert conformed_events(lake).height == 20


def test_members_racing_over_the_same_messages_commit_each_offset_once(settings: Settings, lake: Lake):
    batch = messages(0, range(0, 400)) + messages(1, range(0, 400))
    lakes = [Lake.open(settings.catalog) for _ in range(3)]
    workers = [StreamWorker(member, options=StreamOptions(max_batch_seconds=0.01)) for member in lakes]
    threads = [
        threading.Thread(
            target=w.run, args=(HandedIn(list(batch)),), kwargs={"stop": threading.Event(), "idle_seconds": 0.05}
        )
        for w in workers
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    for member in lakes:
        member.close()

    landed = [sum(b.landed for b in w.batches) for w in workers]
    assert sum(landed) == 800, landed
    raw = raw_events(lake)
    assert raw.height == 800 and raw.select("partition", "offset").n_unique() == 800
    ids = conformed_events(lake)["event_id"]
    assert ids.len() == ids.n_unique() == 800
