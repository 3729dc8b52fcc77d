"""What the job hands the features: attribution through the links, kiosks set aside; rescoring a few customers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl

from core.config import RiskSettings
from risk.features import RiskFrames, customer_features, site_medians
from risk.job import RiskInputs, frames_from, rescore
from risk.score import score

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LINKS = {"customer_id": pl.String, "link_type": pl.String, "kind": pl.String, "value": pl.String, "rule": pl.String}


def links() -> pl.DataFrame:
    rows = [
        ("c1", "record", "orders", "shopsphere:1", "component"),
        ("c1", "record", "users", "11", "component"),
        ("c1", "identifier", "user_id", "11", "exact:user_id"),
        ("c1", "identifier", "device_id", "kiosk-s001", "shared_by_40_people"),
        ("c2", "record", "users", "12", "component"),
        ("c2", "identifier", "user_id", "12", "exact:user_id"),
        ("c2", "identifier", "phone", "+14155550100", "exact:phone"),
        ("c3", "record", "users", "13", "component"),
        ("c3", "identifier", "user_id", "13", "exact:user_id"),
    ]
    return pl.DataFrame(rows, schema=LINKS, orient="row")


def frames(signed_in: list[tuple[str, int]]) -> RiskFrames:
    orders = pl.DataFrame(
        [("shopsphere:1", "web", 11, "USD", 40, T0), ("shopsphere:2", "pos", None, "USD", 60, T0)],
        schema={"order_id": pl.String, "source": pl.String, "user_id": pl.Int64, "currency": pl.String,
                "total_amount": pl.Decimal(12, 2), "order_ts": pl.Datetime("us", "UTC")},
        orient="row",
    )  # fmt: skip
    events = pl.DataFrame(
        [("purchase", T0, "Dev-A", 12, "s1", None), ("login", T0, "dev-b", None, "s2", False)],
        schema={"event_type": pl.String, "event_ts": pl.Datetime("us", "UTC"), "device_id": pl.String,
                "user_id": pl.Int64, "session_id": pl.String, "login_success": pl.Boolean},
        orient="row",
    )  # fmt: skip
    users = pl.DataFrame({"user_id": [11, 12, 13, 14], "created_at": [T0 - timedelta(days=d) for d in (1, 2, 3, 4)]})
    return frames_from(
        RiskInputs(
            customers=pl.DataFrame({"customer_id": ["c1", "c2", "c3"]}),
            links=links(),
            orders=orders,
            events=events,
            signed_in=pl.DataFrame(signed_in, schema={"device_id": pl.String, "user_id": pl.Int64}, orient="row"),
            users=users,
            kiosks=pl.Series(["KIOSK-S001", None]),
        )
    )


def test_orders_and_events_are_attributed_and_kiosks_set_aside() -> None:
    built = frames([("KIOSK-S001", 11), ("kiosk-s001", 12), ("DEV-A", 12), ("dev-a", 13)])
    assert built.orders.select("order_id", "customer_id").rows() == [("shopsphere:1", "c1")], (
        "an unlinked order is no one's"
    )
    assert built.events.select("event_type", "customer_id").rows() == [("purchase", "c2")], "by user id"
    assert sorted(built.device_accounts.rows()) == [("dev-a", 12), ("dev-a", 13)], "kiosk gone, ids normalised"
    assert sorted(built.accounts.select("user_id", "customer_id").rows()) == [(11, "c1"), (12, "c2"), (13, "c3")]
    assert built.identifiers.rows() == [("c2", "phone", "+14155550100")], "the kiosk is no shared identifier"


def test_rescoring_some_customers_gives_their_rows_of_a_full_scoring() -> None:
    built = frames([("dev-a", 11), ("dev-a", 12), ("dev-a", 13)])
    medians = site_medians(built.orders)
    risk = RiskSettings()
    everyone = score(customer_features(built, medians), risk)
    some = rescore(built, ["c3", "c1"], risk, medians)
    assert sorted(some["customer_id"]) == ["c1", "c3"]
    assert some.sort("customer_id").equals(everyone.filter(pl.col("customer_id") != "c2").sort("customer_id"))
    assert set(some["score"]) == {40}, "the other customers on the shared device still count"
