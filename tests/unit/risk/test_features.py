"""Each feature and its reason code on hand-built frames: what fires, and the near misses that must not."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from core.config import RiskSettings
from risk.features import FEATURES, RiskFrames, customer_features, site_medians
from risk.rules import contributions

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TS = pl.Datetime("us", "UTC")
ORDERS = {"customer_id": pl.String, "order_id": pl.String, "source": pl.String, "user_id": pl.Int64,
          "currency": pl.String, "total_amount": pl.Decimal(12, 2), "order_ts": TS}  # fmt: skip
EVENTS = {"customer_id": pl.String, "event_type": pl.String, "event_ts": TS, "session_id": pl.String,
          "login_success": pl.Boolean}  # fmt: skip
DEVICE_ACCOUNTS = {"device_id": pl.String, "user_id": pl.Int64}
ACCOUNTS = {"user_id": pl.Int64, "created_at": TS, "customer_id": pl.String}
IDENTIFIERS = {"customer_id": pl.String, "kind": pl.String, "value": pl.String}
# Twenty ordinary orders of 100 by bystanders: the site median order is 100.
BYSTANDERS = [(f"by{i}", 60 * 24 * i, 100) for i in range(20)]


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def order_rows(
    rows: list[tuple[str, float, float]], source: str = "web", user_id: int | None = None
) -> list[dict[str, object]]:
    """(customer, minutes after T0, amount) -> order rows."""
    return [
        {"customer_id": c, "order_id": f"{source}:{c}:{m}", "source": source, "user_id": user_id, "currency": "USD",
         "total_amount": amount, "order_ts": at(m)}
        for c, m, amount in rows
    ]  # fmt: skip


def event_rows(customer: str, session: str, steps: list[tuple[str, float, bool | None]]) -> list[dict[str, object]]:
    """(event type, seconds after T0, login success) -> events of one session."""
    return [
        {"customer_id": customer, "event_type": kind, "event_ts": T0 + timedelta(seconds=s), "session_id": session,
         "login_success": success}
        for kind, s, success in steps
    ]  # fmt: skip


def features(
    orders: Sequence[dict[str, object]] = (),
    events: Sequence[dict[str, object]] = (),
    device_accounts: Sequence[tuple[str, int]] = (),
    accounts: Sequence[tuple[int, float, str]] = (),
    identifiers: Sequence[tuple[str, str, str]] = (),
) -> pl.DataFrame:
    """Features of every customer named anywhere in the inputs (bystanders' orders always included)."""
    order_frame = pl.DataFrame([*order_rows(BYSTANDERS), *orders], schema=ORDERS)
    event_frame = pl.DataFrame(list(events), schema=EVENTS)
    account_frame = pl.DataFrame([(u, at(m), c) for u, m, c in accounts], schema=ACCOUNTS, orient="row")
    identifier_frame = pl.DataFrame(list(identifiers), schema=IDENTIFIERS, orient="row")
    named = [frame["customer_id"] for frame in (order_frame, event_frame, account_frame, identifier_frame)]
    frames = RiskFrames(
        customers=pl.concat(named).unique().sort().to_frame(),
        orders=order_frame,
        events=event_frame,
        device_accounts=pl.DataFrame(list(device_accounts), schema=DEVICE_ACCOUNTS, orient="row"),
        accounts=account_frame,
        identifiers=identifier_frame,
    )
    return customer_features(frames, site_medians(order_frame))


def fired(frame: pl.DataFrame, customer: str = "c1") -> dict[str, int]:
    """Reason code -> points of one customer under the default settings."""
    rows = contributions(frame, RiskSettings()).filter(pl.col("customer_id") == customer)
    return dict(rows.select("code", "contribution").iter_rows())


def value(frame: pl.DataFrame, name: str, customer: str = "c1") -> float | None:
    return frame.filter(pl.col("customer_id") == customer)[name].item()


def test_every_customer_gets_every_feature_and_nothing_fires_on_ordinary_shopping() -> None:
    frame = features()
    assert frame.columns == ["customer_id", *FEATURES]
    assert frame.height == len(BYSTANDERS)
    assert contributions(frame, RiskSettings()).is_empty()
    assert frame["cart_to_purchase_seconds"].null_count() == frame.height, "nothing to time is not a fast purchase"


def test_five_orders_in_an_hour_are_velocity_and_four_are_not() -> None:
    five = features(order_rows([("c1", m, 100) for m in (0, 10, 20, 30, 50)]))
    assert value(five, "orders_1h") == 5 and fired(five) == {"ORDER_VELOCITY_1H": 50}
    four_then_late = features(order_rows([("c1", m, 100) for m in (0, 10, 20, 30, 61)]))
    assert value(four_then_late, "orders_1h") == 4 and fired(four_then_late) == {}


def test_eight_orders_in_a_day_fire_the_daily_velocity_and_seven_do_not() -> None:
    eight = features(order_rows([("c1", 150 * i, 100) for i in range(8)]))  # one every 2.5 h: 17.5 h
    assert value(eight, "orders_24h") == 8 and fired(eight) == {"ORDER_VELOCITY_24H": 30}
    seven = features(order_rows([("c1", 150 * i, 100) for i in range(7)]))
    assert fired(seven) == {}


def test_a_fresh_accounts_high_value_first_order_fires_but_not_a_day_late_or_ordinary() -> None:
    account = [(7, -180, "c1")]  # created three hours before T0
    fresh = features(order_rows([("c1", 0, 1000)], user_id=7), accounts=account)
    assert value(fresh, "new_account_value_ratio") == pytest.approx(10.0)
    assert fired(fresh) == {"NEW_ACCOUNT_HIGH_VALUE": 100}, "twice the threshold: twice the weight"
    a_day_late = features(order_rows([("c1", 24 * 60 - 179, 1000)], user_id=7), accounts=account)
    assert fired(a_day_late) == {}
    ordinary = features(order_rows([("c1", 0, 450)], user_id=7), accounts=account)
    assert value(ordinary, "new_account_value_ratio") == pytest.approx(4.5) and fired(ordinary) == {}


def test_only_an_accounts_first_order_is_measured() -> None:
    account = [(7, -180, "c1")]
    later_big = features(order_rows([("c1", 0, 100), ("c1", 600, 1000)], user_id=7), accounts=account)
    assert value(later_big, "new_account_value_ratio") == pytest.approx(1.0)


def test_a_spike_over_the_customers_history_and_the_site_fires() -> None:
    history = [("c1", 1000 * i, amount) for i, amount in enumerate((90, 100, 120))]
    spike = features(order_rows([*history, ("c1", 5000, 600)]))
    assert value(spike, "value_spike_ratio") == pytest.approx(6.0) and fired(spike) == {"VALUE_SPIKE": 36}
    detail = contributions(spike, RiskSettings()).filter(pl.col("customer_id") == "c1")["detail"].item()
    assert detail == "6 x both the customer's median earlier order and the site median (threshold 5)"


@pytest.mark.parametrize(
    ("history", "latest"),
    [
        ((90, 100), 600),  # two earlier orders are no history
        ((400, 500, 450), 1500),  # a big spender: 3.3x their own median
        ((10, 12, 11), 300),  # 27x their own median, but only 3x a typical order of the site
    ],
    ids=["short-history", "big-spender", "small-spender"],
)
def test_near_miss_spikes_do_not_fire(history: tuple[int, ...], latest: int) -> None:
    rows = [("c1", 1000 * i, amount) for i, amount in enumerate(history)]
    assert fired(features(order_rows([*rows, ("c1", 5000, latest)]))) == {}


def test_the_same_amount_on_a_marketplace_within_the_hour_is_a_cross_channel_duplicate() -> None:
    web = order_rows([("c1", 0, 250)])
    duplicate = features([*web, *order_rows([("c1", 10, 250)], source="marketplace")])
    assert value(duplicate, "cross_channel_duplicates") == 1 and fired(duplicate) == {"CROSS_CHANNEL_DUPLICATE": 50}
    two_hours_later = features([*web, *order_rows([("c1", 120, 250)], source="marketplace")])
    another_amount = features([*web, *order_rows([("c1", 10, 251)], source="marketplace")])
    someone_else = features([*web, *order_rows([("c2", 10, 250)], source="marketplace")])
    assert fired(two_hours_later) == fired(another_amount) == fired(someone_else) == {}


def test_a_purchase_half_a_second_after_add_to_cart_is_a_script_and_three_seconds_is_not() -> None:
    bot = features(events=event_rows("c1", "s1", [("add_to_cart", 0, None), ("purchase", 0.5, None)]))
    assert value(bot, "cart_to_purchase_seconds") == pytest.approx(0.5)
    detail = contributions(bot, RiskSettings())["detail"].item()
    assert detail == "0.5 seconds from add-to-cart to purchase (threshold 2)"
    assert fired(bot) == {"CART_TO_PURCHASE_FAST": 100}, "4x faster than the threshold, capped at twice the weight"
    human = features(events=event_rows("c1", "s1", [("add_to_cart", 0, None), ("purchase", 3, None)]))
    assert value(human, "cart_to_purchase_seconds") == pytest.approx(3.0) and fired(human) == {}


def test_purchase_speed_counts_from_the_last_add_to_cart_of_the_same_session() -> None:
    earlier_cart = event_rows("c1", "s1", [("add_to_cart", 0, None), ("add_to_cart", 20, None)])
    other_session = event_rows("c1", "s2", [("add_to_cart", 29.5, None)])
    frame = features(events=[*earlier_cart, *other_session, *event_rows("c1", "s1", [("purchase", 30, None)])])
    assert value(frame, "cart_to_purchase_seconds") == pytest.approx(10.0) and fired(frame) == {}


@pytest.mark.parametrize(
    ("failures", "first_failure_s", "fires"),
    [(3, 0, True), (2, 0, False), (3, -7200, False)],
    ids=["three-then-buy", "two-typos", "two-hours-before"],
)
def test_failed_logins_then_a_purchase(failures: int, first_failure_s: float, fires: bool) -> None:
    logins = [("login", first_failure_s + i, False) for i in range(failures)]
    steps = [*logins, ("login", 60, True), ("add_to_cart", 120, None), ("purchase", 180, None)]
    frame = features(events=event_rows("c1", "s1", steps))
    assert fired(frame) == ({"FAILED_LOGINS_THEN_PURCHASE": 50} if fires else {})


def test_a_device_signed_in_to_three_customers_accounts_is_shared_and_two_is_not() -> None:
    accounts = [(1, -9000, "c1"), (2, -5000, "c2"), (3, -1000, "c3"), (4, -1000, "c4")]
    three = features(device_accounts=[("d1", 1), ("d1", 2), ("d1", 3), ("d2", 4)], accounts=accounts)
    assert [value(three, "device_customers", c) for c in ("c1", "c2", "c3", "c4")] == [3, 3, 3, 1]
    assert fired(three, "c2") == {"SHARED_DEVICE": 40} and fired(three, "c4") == {}
    two = features(device_accounts=[("d1", 1), ("d1", 2)], accounts=accounts)
    assert fired(two) == {}


def test_one_customers_own_accounts_on_their_device_are_not_sharing() -> None:
    own = features(
        device_accounts=[("d1", 1), ("d1", 2), ("d1", 3)], accounts=[(1, 0, "c1"), (2, 1e5, "c1"), (3, 2e5, "c1")]
    )
    assert value(own, "device_customers") == 1 and fired(own) == {}


def test_a_phone_held_by_four_customers_is_shared_and_by_three_is_not() -> None:
    four = features(identifiers=[(c, "phone", "+14155550100") for c in ("c1", "c2", "c3", "c4")])
    assert value(four, "identifier_customers") == 4 and fired(four) == {"SHARED_IDENTIFIER": 10}
    three = features(identifiers=[(c, "phone", "+14155550100") for c in ("c1", "c2", "c3")])
    assert fired(three) == {}


def test_three_accounts_created_within_an_hour_on_one_device_are_a_burst() -> None:
    burst = [(1, 0, "c1"), (2, 20, "c2"), (3, 45, "c3")]
    devices = [("d1", 1), ("d1", 2), ("d1", 3)]
    frame = features(device_accounts=devices, accounts=burst)
    assert value(frame, "accounts_created_together", "c3") == 3
    assert fired(frame, "c3") == {"IDENTIFIER_BURST": 40, "SHARED_DEVICE": 40}
    spread = features(device_accounts=devices, accounts=[(1, 0, "c1"), (2, 20, "c2"), (3, 130, "c3")])
    assert value(spread, "accounts_created_together", "c2") == 2
    assert "IDENTIFIER_BURST" not in fired(spread, "c2")


def test_a_burst_of_one_customers_own_accounts_counts_without_a_shared_device() -> None:
    frame = features(accounts=[(1, 0, "c1"), (2, 15, "c1"), (3, 30, "c1")])
    assert fired(frame) == {"IDENTIFIER_BURST": 40}
