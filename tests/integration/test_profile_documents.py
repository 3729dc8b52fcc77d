"""Profile documents rendered by Polars at projection time equal the profile assembled row by row
from the serving tables with the API's response models, for every customer of the sample."""

from __future__ import annotations

import json
from collections import defaultdict
from decimal import Decimal
from typing import Any

from sqlmodel import Session, col, select

from api.models import CustomerPublic, EventPublic, OrderPublic
from core.db import make_engine
from profiles.document import RECENT
from schema.store import CustomerEvent, CustomerIdentifier, CustomerOrder, CustomerProfile
from tests.conftest import Built


def _money(cents: int | None) -> str | None:
    return None if cents is None else str((Decimal(cents) / 100).quantize(Decimal("0.01")))


def _reference(
    profile: CustomerProfile, session: Session, household: dict[tuple[str, str], set[str]]
) -> dict[str, Any]:
    """The profile as the response models build it from the serving rows."""
    cid = profile.customer_id
    identifiers = session.exec(select(CustomerIdentifier).where(CustomerIdentifier.customer_id == cid)).all()
    orders = session.exec(
        select(CustomerOrder).where(CustomerOrder.customer_id == cid)
        .order_by(col(CustomerOrder.order_ts).desc(), col(CustomerOrder.order_id).desc())
    ).all()  # fmt: skip
    events = session.exec(
        select(CustomerEvent).where(CustomerEvent.customer_id == cid)
        .order_by(col(CustomerEvent.event_ts).desc(), col(CustomerEvent.event_id).desc()).limit(RECENT)
    ).all()  # fmt: skip
    platforms: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for order in orders:
        platforms[order.platform][0] += 1
        platforms[order.platform][1] += order.total_cents
    channels = {
        c: {"order_count": getattr(profile, f"{c}_order_count"), "value": _money(getattr(profile, f"{c}_value_cents"))}
        for c in ("web", "pos", "marketplace")
    }
    family = sorted(
        (other, i.kind, i.value) for i in identifiers if i.rule.startswith("household_")
        for other in household[(i.kind, i.value)] - {cid}
    )  # fmt: skip
    return {
        **profile.model_dump(
            include={
                "customer_id",
                "first_name",
                "last_name",
                "email",
                "phone",
                "dob",
                "street",
                "city",
                "postcode",
                "country",
                "loyalty_id",
                "record_count",
                "first_seen",
                "last_seen",
                "build_id",
            }
        ),  # fmt: skip
        "pii_masked": False,
        "lineage": json.loads(profile.lineage or "{}"),
        "identifiers": sorted(
            ({"kind": i.kind, "value": i.value, "rule": i.rule} for i in identifiers),
            key=lambda i: (i["kind"], i["value"]),
        ),  # fmt: skip
        "metrics": {
            "order_count": profile.order_count,
            "lifetime_value": _money(profile.lifetime_value_cents),
            "average_order_value": _money(profile.average_order_value_cents),
            "first_order_ts": profile.first_order_ts,
            "last_order_ts": profile.last_order_ts,
            "channels": channels,
            "platforms": {p: {"order_count": n, "value": _money(v)} for p, (n, v) in platforms.items()},
            "event_count": profile.event_count,
            "last_event_ts": profile.last_event_ts,
        },  # fmt: skip
        "recent_orders": [OrderPublic.from_store(o) for o in orders[:RECENT]],
        "recent_events": [EventPublic.from_store(e, unmasked=True) for e in events],
        "household": [{"customer_id": o, "kind": k, "value": v} for o, k, v in family],
        "risk": None,
    }


def test_every_rendered_document_equals_the_row_by_row_profile(built: Built) -> None:
    engine = make_engine(str(built.settings.store.url))
    with Session(engine) as session:
        household: dict[tuple[str, str], set[str]] = defaultdict(set)
        for i in session.exec(select(CustomerIdentifier).where(col(CustomerIdentifier.rule).startswith("household_"))):
            household[(i.kind, i.value)].add(i.customer_id)
        profiles = session.exec(select(CustomerProfile)).all()
        assert len(profiles) > 100 and all(p.document for p in profiles)
        for profile in profiles:
            rendered = CustomerPublic.model_validate_json(profile.document or "")
            expected = CustomerPublic.model_validate(_reference(profile, session, household))
            assert rendered == expected, profile.customer_id
    engine.dispose()
