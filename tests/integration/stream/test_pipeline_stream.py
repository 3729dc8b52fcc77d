"""The main job with a Kafka broker (Tansu): the sample's events go through the topic and the stream
worker, and the lakehouse and the profiles come out as they do from the file."""

from __future__ import annotations

import json
import threading
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
from sqlmodel import Session, select

from core.config import KafkaSettings, Settings, load_settings
from core.db import make_engine
from ingest.replay_events import send_lines
from ingest.sources.broker import LocalBroker
from ingest.stream import consume_events, stream_worker
from lakehouse.lake import Lake
from lakehouse.query import read_polars
from pipeline import run_pipeline, serve_stream
from schema import lake as tables
from schema.store import CustomerIdentifier, CustomerProfile, CustomerRisk
from tests.conftest import BUILD_TIME, Built
from tests.streams import kafka_settings
from tests.support import SAMPLE_DIR

FAST = "CART_TO_PURCHASE_FAST"


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
    served_fresh_events(settings, kafka_settings(kafka_bootstrap, topic), tmp_path / "fresh.jsonl")


def served_reasons(session: Session, customer_id: str) -> str:
    risk = session.get(CustomerRisk, customer_id)
    return risk.reasons if risk is not None else ""


def served_fresh_events(settings: Settings, kafka: KafkaSettings, path: Path) -> None:
    """While the API serves, new events of a served customer reach its profile and its risk score as their
    batch commits: a purchase one second after adding to the cart is rescored as too fast for a person."""
    engine = make_engine(str(settings.store.url))
    with Session(engine) as session:
        exact_users = select(CustomerIdentifier).where(CustomerIdentifier.rule == "exact:user_id")
        link = next(
            candidate
            for candidate in session.exec(exact_users)
            if FAST
            not in (
                session.get(CustomerRisk, candidate.customer_id) or CustomerRisk.model_construct(reasons="")
            ).reasons
        )
        count = session.get(CustomerProfile, link.customer_id).event_count  # type: ignore[union-attr]
    at = datetime.now(UTC) - timedelta(minutes=1)
    kinds = {"view": {}, "add_to_cart": {"product_id": "P00001"}, "purchase": {"order_id": 100002}}
    lines = [
        {"event_id": f"fresh-{uuid.uuid4().hex}", "event_type": event_type, "device_id": None,
         "event_ts": (at + timedelta(seconds=i)).isoformat(), "user_id": int(link.value), "session_id": "sess-fresh",
         "product_id": None, "order_id": None, "metadata": {}} | kinds[event_type]
        for i, event_type in enumerate(("view", "view", "add_to_cart", "purchase"))
    ]  # fmt: skip
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    send_lines(str(kafka.bootstrap_servers), kafka.events_topic, path)
    with Lake.open(settings.catalog) as lake:
        worker = stream_worker(lake, kafka, on_conformed=serve_stream(lake, engine, settings.risk))
        consume_events(worker, kafka, stop=threading.Event(), idle_seconds=2.0)
        history = read_polars(lake.table(tables.RISK_SCORES)).filter(pl.col("customer_id") == link.customer_id)
    with Session(engine) as session:
        profile = session.get(CustomerProfile, link.customer_id)
        assert profile is not None and profile.document
        shown = {e["event_id"] for e in json.loads(profile.document)["recent_events"]}
        served_risk = session.get(CustomerRisk, link.customer_id)
    engine.dispose()
    assert sum(b.landed for b in worker.batches) == 4
    assert profile.event_count == count + 4 and {line["event_id"] for line in lines} <= shown
    newest = history.sort("scored_at")[-1]
    assert len(history) == 2 and FAST in newest["reasons"].item(), "the rescoring is appended to the build's history"
    assert served_risk is not None and served_risk.build_id == newest["build_id"].item()
    assert FAST in served_risk.reasons and served_risk.score == newest["score"].item()
