"""Fresh activity: events committed by the stream worker reach the served profiles before the next build
(on a copy of the store built from the sample)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from api.models import CustomerPublic
from core.config import Settings
from core.db import make_engine
from lakehouse import write
from lakehouse.lake import Lake
from lakehouse.query import read_polars
from lakehouse.snapshots import last_property
from profiles.fresh import add_events
from schema import lake as tables
from schema.lake import PROP_BUILD_ID
from schema.store import CustomerEvent, CustomerIdentifier, CustomerProfile
from tests.conftest import Built
from tests.support import copy_store


@pytest.fixture
def engine(built: Built, tmp_path: Path) -> Iterator[Engine]:
    """A private copy of the built store."""
    engine = make_engine(copy_store(str(built.settings.store.url), tmp_path / "store.db"))
    yield engine
    engine.dispose()


def events(user_id: str | None, device_id: str | None, ids: list[str], at: datetime) -> pl.DataFrame:
    n = len(ids)
    return pl.DataFrame(
        {
            "event_id": ids,
            "event_type": ["add_to_cart"] * n,
            "event_ts": [at + timedelta(seconds=i) for i in range(n)],
            "user_id": [int(user_id) if user_id else None] * n,
            "device_id": [device_id] * n,
            "session_id": ["s-1"] * n,
            "product_id": ["P00001"] * n,
            "order_id": [None] * n,
            "page_url": ["/p/P00001"] * n,
        },  # fmt: skip
        schema_overrides={"order_id": pl.Int64, "user_id": pl.Int64, "device_id": pl.String},
    )


def test_new_events_are_served_once_counted_and_shown_first(engine: Engine) -> None:
    with Session(engine) as session:
        link = session.exec(select(CustomerIdentifier).where(CustomerIdentifier.rule == "exact:user_id")).first()
        assert link is not None
        before = session.get(CustomerProfile, link.customer_id)
        assert before is not None
        count, old_event = before.event_count, session.exec(select(CustomerEvent.event_id)).first()
    now = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
    batch = pl.concat(
        [
            events(link.value, None, ["fresh-1", "fresh-2", "fresh-3"], now),
            events(None, "dev-nobody-knows", ["fresh-stranger"], now),
            events(link.value, None, [str(old_event)], now),  # served already
        ]
    )
    report = add_events(engine, batch)
    assert (report.events, report.served, report.customers) == (5, 3, 1)
    with Session(engine) as session:
        after = session.get(CustomerProfile, link.customer_id)
        assert after is not None and after.document
        profile = CustomerPublic.model_validate_json(after.document)
    assert after.event_count == count + 3 and profile.metrics.event_count == count + 3
    assert profile.metrics.last_event_ts == now + timedelta(seconds=2)
    assert [e.event_id for e in profile.recent_events[:3]] == ["fresh-3", "fresh-2", "fresh-1"]
    assert add_events(engine, batch).served == 0, "a replayed batch is served once"


def test_a_browsing_household_member_seen_by_an_uppercased_device_keeps_its_household(engine: Engine) -> None:
    with Session(engine) as session:
        no_orders = select(CustomerProfile.customer_id).where(CustomerProfile.order_count == 0)
        device = session.exec(
            select(CustomerIdentifier).where(
                CustomerIdentifier.rule == "exact:device_id", col(CustomerIdentifier.customer_id).in_(no_orders)
            )
        ).first()
        family = session.exec(
            select(CustomerIdentifier).where(col(CustomerIdentifier.rule).startswith("household_"))
        ).first()
        assert device is not None and family is not None
        family_device = session.exec(
            select(CustomerIdentifier).where(
                CustomerIdentifier.customer_id == family.customer_id, CustomerIdentifier.rule == "exact:device_id"
            )
        ).first()
        assert family_device is not None
        before = session.get(CustomerProfile, family.customer_id)
        assert before is not None and before.document
        household = CustomerPublic.model_validate_json(before.document).household
    now = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
    batch = pl.concat(
        [
            events(None, device.value.upper(), ["fresh-browse"], now),
            events(None, family_device.value, ["fresh-family"], now),
        ]
    )
    assert add_events(engine, batch).customers == 2
    with Session(engine) as session:
        browsing, member = (session.get(CustomerProfile, c) for c in (device.customer_id, family.customer_id))
        assert browsing is not None and member is not None and browsing.document and member.document
    assert CustomerPublic.model_validate_json(browsing.document).recent_events[0].event_id == "fresh-browse"
    refreshed = CustomerPublic.model_validate_json(member.document)
    assert refreshed.recent_events[0].event_id == "fresh-family" and refreshed.household == household and household


def test_events_committed_while_a_build_projects_are_served_after_its_projection(
    small: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stream worker commits a batch, and serves it, between the build's read of the events and its projection."""
    import profiles.job

    at = datetime.now(UTC)
    engine = make_engine(str(small.store.url))
    with Lake.open(small.catalog) as lake:
        table = lake.table(tables.EVENTS)
        template = read_polars(table).filter(pl.col("user_id").is_not_null()).head(1)
        account = (
            read_polars(lake.table(tables.IDENTITY_LINKS)).filter(pl.col("rule") == "exact:user_id").row(0, named=True)
        )
        user_id = pl.lit(int(account["value"]), dtype=pl.Int64)
        batch = pl.concat(
            template.with_columns(event_id=pl.lit(f"late-{i}"), event_ts=pl.lit(at), user_id=user_id) for i in range(2)
        )
        project = profiles.job.project

        def project_after_a_batch(*args: Any, **kwargs: Any) -> Any:
            write.append(table, batch.to_arrow())
            add_events(engine, batch)  # its hook, against the store the projection is about to replace
            return project(*args, **kwargs)

        monkeypatch.setattr(profiles.job, "project", project_after_a_batch)
        build_id = last_property(lake.table(tables.CUSTOMERS), PROP_BUILD_ID)
        profiles.job.run_profiles(lake, engine, build_id=str(build_id), now=at)
    with Session(engine) as session:
        served = session.exec(select(CustomerEvent.event_id).where(col(CustomerEvent.event_id).startswith("late-")))
        profile = session.get(CustomerProfile, account["customer_id"])
        assert sorted(served) == ["late-0", "late-1"] and profile is not None and profile.document
        assert {"late-0", "late-1"} <= {
            e.event_id for e in CustomerPublic.model_validate_json(profile.document).recent_events
        }
    engine.dispose()
