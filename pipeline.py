"""The main job: from source files to a served Customer 360, each step idempotent.

1. migrate the operational store and create every lakehouse table;
2. load the source files into raw and conformed tables (quarantining what does not fit);
3. resolve identities into `gold.customers` and `gold.identity_links`;
4. compute `gold.customer_metrics` and project the gold layer into the serving store.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from core.config import Settings
from core.db import make_engine
from identity.job import IdentityReport, new_build_id, run_identity
from ingest.file_load import FileLoader, LoadReport
from lakehouse.lake import Lake
from migrations import upgrade_head
from profiles.job import ProfilesReport, run_profiles

logger = logging.getLogger(__name__)

Step = Callable[[str], None]


@dataclass
class PipelineReport:
    """What one run of the main job did."""

    load: LoadReport
    identity: IdentityReport
    profiles: ProfilesReport


def run_pipeline(
    settings: Settings, source_dir: Path, *, step: Step | None = None, now: datetime | None = None
) -> PipelineReport:
    """Run every step of the main job against the configured catalog and store."""
    announce = step or (lambda _name: None)
    started = now or datetime.now(UTC)
    announce("migrating the operational store")
    upgrade_head(str(settings.store.url))
    with Lake.open(settings.catalog) as lake:
        return _build(settings, lake, source_dir, announce, started)


def _build(settings: Settings, lake: Lake, source_dir: Path, announce: Step, started: datetime) -> PipelineReport:
    announce("creating lakehouse tables")
    lake.create()
    announce(f"loading sources from {source_dir}")
    load = FileLoader(lake, source_dir, now=started).run()
    build_id = new_build_id(started)
    announce("resolving identities")
    identity, _ = run_identity(
        lake,
        default_region=settings.identity.default_region,
        max_people=settings.identity.junk_max_people,
        build_id=build_id,
    )
    announce("computing metrics and projecting profiles")
    engine = make_engine(str(settings.store.url))
    try:
        profiles = run_profiles(lake, engine, build_id=build_id, now=started)
    finally:
        engine.dispose()
    return PipelineReport(load=load, identity=identity, profiles=profiles)
