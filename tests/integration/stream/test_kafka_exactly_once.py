"""Exactly once under SIGKILL and rebalances, against a real Kafka-protocol broker (Tansu).

Workers run as `c360 ingest kafka` child processes that are killed with SIGKILL, at named points of
the batch cycle (failpoints) and at random moments; two in-process workers share a group through
rebalances. After each scenario every produced message is in raw.events once (one row per offset)
and every distinct event id is in conformed.events once.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from core.config import KafkaSettings, Settings
from ingest.stream import consume_events, stream_worker
from lakehouse.lake import Lake
from tests.streams import assert_exactly_once, event, kafka_settings, produce, raw_events

REPO = Path(__file__).resolve().parents[3]


def worker_process(home: Path, kafka: KafkaSettings, *, failpoint: str | None = None) -> subprocess.Popen[str]:
    """`c360 ingest kafka --once` in a child process with its own settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("C360_")} | {
        "C360_HOME": str(home),
        "C360_KAFKA__BOOTSTRAP_SERVERS": str(kafka.bootstrap_servers),
        "C360_KAFKA__EVENTS_TOPIC": kafka.events_topic,
        "C360_KAFKA__GROUP_ID": kafka.group_id,
        "C360_KAFKA__SESSION_TIMEOUT_MS": str(kafka.session_timeout_ms),
        "C360_KAFKA__MAX_BATCH_MESSAGES": str(kafka.max_batch_messages),
        "C360_KAFKA__MAX_BATCH_SECONDS": str(kafka.max_batch_seconds),
    }
    if failpoint:
        env["C360_FAILPOINT"] = failpoint
    command = [sys.executable, "-m", "cli", "ingest", "kafka", "--once", "--idle", "1"]
    return subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def produced(bootstrap: str, topic: str, count: int, *, redelivered: int = 0) -> tuple[set[str], int]:
    """Produce `count` events plus `redelivered` resends of some of them; (distinct ids, messages)."""
    events = [event(n) for n in range(count)]
    produce(bootstrap, topic, events + events[:redelivered])
    return {e["event_id"] for e in events}, count + redelivered


@pytest.mark.parametrize("crash_at", ["commit:raw.events", "committed:raw.events", "commit:conformed.events"])
def test_a_worker_killed_at_each_point_of_the_batch_cycle_loses_and_duplicates_nothing(
    crash_at: str, settings: Settings, lake: Lake, kafka_bootstrap: str, topic: str
):
    ids, messages = produced(kafka_bootstrap, topic, 600, redelivered=40)
    kafka = kafka_settings(kafka_bootstrap, topic, max_batch_messages=150)

    crashed = worker_process(settings.home, kafka, failpoint=crash_at)
    output, _ = crashed.communicate(timeout=120)
    assert crashed.returncode == -signal.SIGKILL, output
    finished = worker_process(settings.home, kafka)
    output, _ = finished.communicate(timeout=120)
    assert finished.returncode == 0, output

    assert_exactly_once(lake, ids, messages)


def test_many_random_kills_lose_and_duplicate_nothing(settings: Settings, lake: Lake, kafka_bootstrap: str, topic: str):
    """Each worker is killed a random moment (up to one batch interval) after it committed a batch."""
    ids, messages = produced(kafka_bootstrap, topic, 3000, redelivered=200)
    kafka = kafka_settings(kafka_bootstrap, topic, max_batch_messages=120, max_batch_seconds=0.3)
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    kills = 0
    while kills < 3 and (landed := raw_events(lake).height) < messages:
        process = worker_process(settings.home, kafka)
        _wait_for(lambda: raw_events(lake).height > landed, f"a worker to commit (seed {seed})")
        time.sleep(rng.uniform(0.0, 0.6))
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=30)
        kills += process.returncode == -signal.SIGKILL
    finished = worker_process(settings.home, kafka)
    output, _ = finished.communicate(timeout=180)
    assert finished.returncode == 0, output

    assert kills >= 2, f"only {kills} worker(s) were still running when killed (seed {seed})"
    assert_exactly_once(lake, ids, messages)


def test_two_workers_share_the_partitions_through_rebalances(
    settings: Settings, lake: Lake, kafka_bootstrap: str, topic: str
):
    kafka = kafka_settings(kafka_bootstrap, topic, max_batch_messages=200, max_batch_seconds=0.5)
    events = [event(n) for n in range(3000)]
    produce(kafka_bootstrap, topic, events[:1000])
    first, second = _Member(settings, kafka), _Member(settings, kafka)

    first.start()
    _wait_for(lambda: raw_events(lake).height > 0, "the first worker to commit")
    second.start()  # the group rebalances: partitions are split between the two
    # Produce only once the split is done: the first would otherwise read these while it still owns
    # every partition, and the second could be left with nothing to commit.
    _wait_for(second.is_assigned, "the second worker to be given partitions")
    produce(kafka_bootstrap, topic, events[1000:2000])
    _wait_for(lambda: second.landed() > 0, "the second worker to commit after the rebalance")
    first.stop()  # it flushes and leaves: the second takes every partition
    produce(kafka_bootstrap, topic, events[2000:])
    _wait_for(lambda: raw_events(lake).height >= 3000, "every message to land")
    second.stop()

    assert first.landed() > 0 and second.landed() > 0
    assert_exactly_once(lake, {e["event_id"] for e in events}, 3000)


class _Member:
    """A worker in a thread of this process, with its own catalog connection."""

    def __init__(self, settings: Settings, kafka: KafkaSettings):
        self._lake = Lake.open(settings.catalog)
        self._kafka = kafka
        self._stop = threading.Event()
        self._worker = stream_worker(self._lake, kafka)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            consume_events(self._worker, self._kafka, stop=self._stop)
        except BaseException as exc:  # reported by stop()
            self._error = exc

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(60)
        self._lake.close()
        if self._error is not None:
            raise self._error

    def is_assigned(self) -> bool:
        """Whether the group has given this member partitions yet."""
        return self._worker.assigned.is_set()

    def landed(self) -> int:
        """Messages this member has committed so far."""
        return sum(b.landed for b in list(self._worker.batches))


def _wait_for(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")
