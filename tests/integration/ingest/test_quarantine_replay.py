"""Quarantine: what the sample could not load is listed, and replaying after a fix loads it once."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime

import polars as pl
import pytest

from core.config import Settings
from ingest import events
from ingest.entities import ALL_ENTITIES
from ingest.model import ConformEnv
from ingest.replay import replay
from ingest.sources.files import FileSource
from ingest.worker import Worker, product_catalogue
from lakehouse.lake import Lake
from lakehouse.query import read_polars
from schema import lake as tables
from tests.support import SAMPLE_DIR

NOW = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture
def loaded(settings: Settings) -> Lake:  # type: ignore[misc]
    with Lake.open(settings.catalog) as lake:
        lake.create()
        Worker(lake, FileSource(SAMPLE_DIR), clock=lambda: NOW).run(ALL_ENTITIES)
        yield lake


def env(lake: Lake) -> ConformEnv:
    return ConformEnv(now=NOW, catalogue=lambda: product_catalogue(lake))


def test_replay_after_a_fix_loads_the_records_once_and_marks_them(
    loaded: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    unknown = read_polars(loaded.table(tables.QUARANTINE)).filter(pl.col("reason_code") == "unknown_event_type")
    assert len(unknown) == 2
    events_before = read_polars(loaded.table(tables.EVENTS)).height
    quarantined = read_polars(loaded.table(tables.QUARANTINE)).height

    nothing_changed = replay(loaded, env(loaded), reason="unknown_event_type")
    assert (nothing_changed.replayed, nothing_changed.still_refused) == (0, 2), "refused again: still open, not doubled"
    assert read_polars(loaded.table(tables.QUARANTINE)).height == quarantined

    types = set(unknown["payload"].str.json_path_match("$.event_type").to_list())
    monkeypatch.setattr(events, "EVENT_TYPES", events.EVENT_TYPES | types)  # the fix: the new types are known
    fixed = replay(loaded, env(loaded), reason="unknown_event_type")
    assert (fixed.replayed, fixed.still_refused) == (2, 0)
    assert read_polars(loaded.table(tables.EVENTS)).height == events_before + 2
    marked = read_polars(loaded.table(tables.QUARANTINE)).filter(pl.col("reason_code") == "unknown_event_type")
    assert set(marked["status"]) == {"replayed"} and marked["resolved_at"].null_count() == 0
    assert replay(loaded, env(loaded), reason="unknown_event_type").replayed == 0, "replayed records stay replayed"


def test_records_refused_by_the_reader_are_reported_as_fix_at_source(settings: Settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "exports"
    folder.mkdir()
    for name in ("products.csv",):
        (folder / name).write_text((SAMPLE_DIR / name).read_text() + 'P99999,"broken\n')
    with Lake.open(settings.catalog) as lake:
        lake.create()
        runs = Worker(lake, FileSource(folder), clock=lambda: NOW).run(ALL_ENTITIES[:1])
        assert runs[0].batches[0].quarantined == 1 and runs[0].batches[0].balanced
        refused = read_polars(lake.table(tables.QUARANTINE))
        assert refused["reason_code"].to_list() == ["malformed_row"]
        report = replay(lake, env(lake))
        assert report.not_replayable == 1 and report.replayed == 0


def test_the_list_command_hides_payloads_unless_asked(loaded: Lake, settings: Settings) -> None:
    environment = {**os.environ, "C360_HOME": str(settings.home), "COLUMNS": "400"}
    command = [sys.executable, "-m", "cli", "quarantine", "list", "--reason", "invalid_type"]
    listed = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    assert "marketplace_orders" in listed.stderr and "invalid_type" in listed.stderr
    assert "payload" not in listed.stderr
    shown = subprocess.run([*command, "--show-payload"], env=environment, capture_output=True, text=True, timeout=120)
    assert "payload" in shown.stderr
