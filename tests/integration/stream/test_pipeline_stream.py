"""The main job with a Kafka broker (Tansu): the sample's events go through the topic and the stream
worker, and the lakehouse and the profiles come out as they do from the file."""

from __future__ import annotations

import uuid

import polars as pl

from core.config import load_settings
from ingest.sources.broker import LocalBroker
from lakehouse.lake import Lake
from lakehouse.query import read_polars
from pipeline import run_pipeline
from schema import lake as tables
from tests.conftest import BUILD_TIME, Built
from tests.streams import kafka_settings
from tests.support import SAMPLE_DIR


def events_and_refusals(lake: Lake) -> tuple[pl.DataFrame, list[str]]:
    events = read_polars(lake.table(tables.EVENTS)).drop("_topic", "_partition", "_offset", "_batch_id", "_ingested_at")
    refused = read_polars(lake.table(tables.QUARANTINE)).filter(pl.col("entity") == tables.EVENTS.full_name)
    return events.sort("event_id"), sorted(refused["reason_code"].to_list())


def test_events_through_kafka_build_the_same_lakehouse_as_the_file(tmp_path, built: Built, kafka_bootstrap: str):  # type: ignore[no-untyped-def]
    """The second run is `make run` again: a fresh bundled broker gets the same replay at the same offsets."""
    settings = load_settings(home=tmp_path / "c360")
    topic = f"sample-{uuid.uuid4().hex[:8]}"

    report = run_pipeline(settings, SAMPLE_DIR, now=BUILD_TIME, kafka=kafka_settings(kafka_bootstrap, topic))
    with LocalBroker() as fresh_broker:
        kafka = kafka_settings(fresh_broker.bootstrap_servers, topic)
        again = run_pipeline(settings, SAMPLE_DIR, now=BUILD_TIME, kafka=kafka)

    assert report.stream is not None and sum(b.read for b in report.stream) == 6737
    assert again.stream is not None and sum(b.landed for b in again.stream) == 0, "a rerun landed events again"
    assert again.identity is None, "a rerun rebuilt the gold layer"
    with Lake.open(settings.catalog) as streamed, Lake.open(built.settings.catalog) as from_file:
        stream_events, stream_refused = events_and_refusals(streamed)
        file_events, file_refused = events_and_refusals(from_file)
        assert stream_events.equals(file_events)
        assert stream_refused == file_refused
        metrics = [read_polars(lake.table(tables.CUSTOMER_METRICS)) for lake in (streamed, from_file)]
        columns = [c for c in metrics[0].columns if "event" in c]
        assert columns, "customer_metrics has no event columns"
        assert metrics[0].select(columns).sort(columns).equals(metrics[1].select(columns).sort(columns))
