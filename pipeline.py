"""The main job: from source files to a served Customer 360, each step idempotent.

1. migrate the operational store and create every lakehouse table;
2. land the source files in raw tables and conform them (quarantining what does not fit); with a
   Kafka broker, the sample's events go through the topic and the stream worker instead;
3. unless no conformed input changed since the last build: resolve identities into
   `gold.customers` and `gold.identity_links`, compute `gold.customer_metrics`, project the
   gold layer into the serving store, and score every customer's risk into `gold.risk_scores`.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pyarrow as pa
from sqlalchemy import Engine
from sqlmodel import Session

from core.config import KafkaSettings, RiskSettings, Settings
from core.db import make_engine
from identity import overrides
from identity.job import IdentityReport, new_build_id, run_identity
from ingest.entities import ALL_ENTITIES, EVENTS
from ingest.replay_events import send_lines
from ingest.sources.files import FileSource
from ingest.stream import OnConformed, StreamBatch, consume_events, stream_worker
from ingest.worker import EntityRun, OnBatch, Worker
from lakehouse.lake import Lake
from lakehouse.write import fenced_against_erasure
from migrations import upgrade_head
from privacy.hashing import salt
from privacy.suppression import StoreSuppressor
from profiles.fresh import add_events
from profiles.job import ProfilesReport, gold_inputs, gold_is_current, run_profiles
from profiles.projection import serve_risk
from risk.job import run_risk
from risk.live import LiveRisk

logger = logging.getLogger(__name__)

Step = Callable[[str], None]


@dataclass
class PipelineReport:
    """What one run of the main job did (identity and profiles are None when gold was current)."""

    load: list[EntityRun]
    identity: IdentityReport | None
    profiles: ProfilesReport | None
    stream: list[StreamBatch] | None = None


def run_pipeline(
    settings: Settings,
    source_dir: Path,
    *,
    step: Step | None = None,
    on_batch: OnBatch | None = None,
    now: datetime | None = None,
    kafka: KafkaSettings | None = None,
) -> PipelineReport:
    """Run every step of the main job against the configured catalog and store.

    With `kafka`, the sample's events take the production path: they are sent to the events topic
    and landed by the stream worker (until the topic is idle) instead of being read from the file.
    """
    announce = step or (lambda _name: None)
    started = now or datetime.now(UTC)
    announce("migrating the operational store")
    upgrade_head(str(settings.store.url))
    engine = make_engine(str(settings.store.url))
    with Lake.open(settings.catalog) as lake:
        announce("creating lakehouse tables")
        lake.create()
        announce(f"loading sources from {source_dir}")
        suppressor = store_suppressor(settings, engine)
        worker = Worker(
            lake, FileSource(source_dir), batch_rows=1_000_000, clock=lambda: started, suppressor=suppressor
        )
        if on_batch is not None:
            worker.on_batch = on_batch
        load = worker.run(tuple(e for e in ALL_ENTITIES if kafka is None or e is not EVENTS))
        stream = None
        if kafka is not None:
            announce(f"sending {source_dir / 'events.jsonl'} to Kafka topic {kafka.events_topic}")
            send_lines(str(kafka.bootstrap_servers), kafka.events_topic, source_dir / "events.jsonl")
            announce("landing events with the stream worker")
            landing = stream_worker(lake, kafka, suppressor=suppressor)
            stream = consume_events(landing, kafka, stop=threading.Event(), idle_seconds=2.0).batches
        identity, profiles = build_gold(settings, lake, now=started, step=announce)
    engine.dispose()
    return PipelineReport(load=load, identity=identity, profiles=profiles, stream=stream)


def build_gold(
    settings: Settings, lake: Lake, *, now: datetime, step: Step | None = None
) -> tuple[IdentityReport | None, ProfilesReport | None]:
    """Resolve identities, compute metrics, project profiles and score risk, unless nothing they read changed.

    Every gold table and the serving store must carry one build for it to be current: a build
    stopped anywhere before the projection commits runs again in full next time. An erasure
    committed while the build runs stops it (ErasureFencedError) before it writes anything
    computed from rows read before the erasure.
    """
    announce = step or (lambda _name: None)
    engine = make_engine(str(settings.store.url))
    try:
        with fenced_against_erasure(datetime.now(UTC)):
            with Session(engine) as session:
                decisions = overrides.list_overrides(session)
            inputs = gold_inputs(
                lake,
                overrides=overrides.fingerprint(decisions),
                identity_settings=json.dumps(settings.identity.model_dump(), sort_keys=True),
            )
            if gold_is_current(lake, engine, inputs):
                announce("gold layer and serving store are current")
                return None, None
            build_id = new_build_id(now)
            announce("resolving identities")
            must_links, cannot_links = overrides.as_constraints(decisions)
            identity, _ = run_identity(
                lake, settings.identity, build_id=build_id, inputs=inputs,
                must_links=must_links, cannot_links=cannot_links,
            )  # fmt: skip
            announce("scoring risk")
            run_risk(lake, settings.risk, build_id=build_id, now=now, inputs=inputs)
            announce("computing metrics and projecting profiles")
            return identity, run_profiles(lake, engine, build_id=build_id, now=now, inputs=inputs)
    finally:
        engine.dispose()


def serve_stream(lake: Lake, engine: Engine, risk: RiskSettings) -> OnConformed:
    """The stream worker's hook for each committed batch: serve its events, then rescore their customers."""
    live = LiveRisk(lake, risk)

    def serve(conformed: pa.Table) -> None:
        events = pl.DataFrame(conformed)
        add_events(engine, events)
        if (scores := live.rescore(events)) is not None:
            serve_risk(engine, scores)

    return serve


def store_suppressor(settings: Settings, engine: Engine) -> StoreSuppressor:
    """Ingestion's check against erased data subjects (batch and stream workers drop their records)."""
    return StoreSuppressor(engine, salt(settings), default_region=settings.identity.default_region)
