"""Per-customer risk features from orders, events, accounts and the identity graph (pure Polars).

Every feature is one number per customer; `risk.rules` compares it with a configurable threshold.
Windows (one hour, one day) are part of what a feature means and are fixed here; features compare
a customer with their own history or with the whole site rather than with fixed amounts, so they
hold for any currency, catalogue or shop size.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import polars as pl

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
HISTORY_ORDERS = 20  # a spike is measured against the median of up to this many earlier orders...
MIN_HISTORY = 3  # ...and only once there are this many: one earlier order is no history
BEHAVIOUR_EVENTS = ("login", "add_to_cart", "purchase")  # the event types the features read

# Why each feature signals fraud, one line each (the rules and the design doc repeat these names).
FEATURES: dict[str, str] = {
    "orders_1h": "most orders in any hour: card testing and resellers order faster than shoppers",
    "orders_24h": "most orders in any day: the same burst spread over a day",
    "new_account_value_ratio": "an account's first order within a day of sign-up, over the site median order: "
    "stolen cards are spent at once, on a fresh account",
    "value_spike_ratio": "largest order over both the customer's median earlier order and the site median: a "
    "taken-over account or card buys far above its owner's habit",
    "cross_channel_duplicates": "marketplace orders with the amount of a web order placed within an hour: "
    "one basket bought twice on two channels",
    "cart_to_purchase_seconds": "fastest add-to-cart to purchase in one session: scripts check out faster "
    "than a person can read a page",
    "failed_logins_before_purchase": "most failed logins in the hour before a purchase: password guessing, "
    "then spending",
    "device_customers": "most customers signed in on one of the customer's devices (store kiosks aside): one "
    "device working through other people's accounts",
    "identifier_customers": "most customers holding one of the customer's phones or devices in the identity "
    "graph: shared identifiers tie unrelated accounts together",
    "accounts_created_together": "most accounts created within an hour of each other on one device or for one "
    "customer: throwaway sign-ups",
}
# Features measured as "faster is worse": a customer with nothing to measure gets null, not zero.
LOWER_IS_RISKIER = frozenset({"cart_to_purchase_seconds"})


@dataclass(frozen=True)
class RiskFrames:
    """What the features read. Orders and events already carry their customer (`identity.attribution`).

    customers: customer_id. orders: customer_id, order_id, source, user_id, currency, total_amount,
    order_ts (deleted orders left out). events: customer_id, event_type (BEHAVIOUR_EVENTS),
    event_ts, session_id, login_success. device_accounts: device_id, user_id, every account seen
    signed in on each device, kiosks left out. accounts: user_id, created_at, customer_id.
    identifiers: customer_id, kind, value of the customers' phones and devices.
    """

    customers: pl.DataFrame
    orders: pl.DataFrame
    events: pl.DataFrame
    device_accounts: pl.DataFrame
    accounts: pl.DataFrame
    identifiers: pl.DataFrame


def site_medians(orders: pl.DataFrame) -> pl.DataFrame:
    """The median order value per currency over every order: what "a high-value order" is measured against."""
    return orders.group_by("currency").agg(pl.col("total_amount").cast(pl.Float64).median().alias("site_median"))


def customer_features(frames: RiskFrames, medians: pl.DataFrame) -> pl.DataFrame:
    """One row per customer of `frames.customers` with every feature of FEATURES (0 when there is nothing to count)."""
    parts = (
        order_velocity(frames.orders, HOUR, "orders_1h"),
        order_velocity(frames.orders, DAY, "orders_24h"),
        new_account_value_ratio(frames.orders, frames.accounts, medians),
        value_spike_ratio(frames.orders, medians),
        cross_channel_duplicates(frames.orders),
        cart_to_purchase_seconds(frames.events),
        failed_logins_before_purchase(frames.events),
        device_customers(frames.device_accounts, frames.accounts),
        identifier_customers(frames.identifiers),
        accounts_created_together(frames.device_accounts, frames.accounts),
    )
    frame = frames.customers.select("customer_id")
    for part in parts:
        frame = frame.join(part, on="customer_id", how="left")
    counted = [name for name in FEATURES if name not in LOWER_IS_RISKIER]
    return frame.with_columns(pl.col(counted).fill_null(0)).select("customer_id", *FEATURES)


def order_velocity(orders: pl.DataFrame, window: timedelta, name: str) -> pl.DataFrame:
    """Most orders a customer placed within any `window` (rolling, ending at each order)."""
    ordered = orders.select("customer_id", "order_ts").sort("customer_id", "order_ts")
    counts = ordered.rolling(index_column="order_ts", period=window, group_by="customer_id").agg(pl.len().alias(name))
    return counts.group_by("customer_id").agg(pl.col(name).max().cast(pl.Int64))


def new_account_value_ratio(orders: pl.DataFrame, accounts: pl.DataFrame, medians: pl.DataFrame) -> pl.DataFrame:
    """Largest first order of an account placed within a day of its sign-up, over the site median of its currency."""
    # 1. each account's first order (web and app orders name the account)
    first = (
        orders.filter(pl.col("user_id").is_not_null())
        .sort("order_ts")
        .group_by("user_id")
        .agg(pl.col("customer_id", "order_ts", "currency", "total_amount").first())
    )
    # 2. keep those placed within a day of the account's creation
    created = accounts.select("user_id", "created_at")
    age = pl.col("order_ts") - pl.col("created_at")
    fresh = first.join(created, on="user_id").filter((age >= timedelta(0)) & (age <= DAY))
    # 3. their value against what a typical order costs on the site
    ratio = pl.col("total_amount").cast(pl.Float64) / pl.col("site_median")
    measured = fresh.join(medians, on="currency").filter(pl.col("site_median") > 0)
    return measured.group_by("customer_id").agg(ratio.max().alias("new_account_value_ratio"))


def value_spike_ratio(orders: pl.DataFrame, medians: pl.DataFrame) -> pl.DataFrame:
    """Largest order over both the median of the customer's earlier orders in its currency and the site median.

    Both, because either alone is noisy: a small spender's first ordinary order is no spike for
    the shop, and a big basket is no spike for someone who always buys big.
    """
    amount = pl.col("total_amount").cast(pl.Float64)
    history = (
        amount.shift(1)
        .rolling_median(window_size=HISTORY_ORDERS, min_samples=MIN_HISTORY)
        .over("customer_id", "currency", order_by="order_ts")
    )
    measured = orders.with_columns(history.alias("history")).join(medians, on="currency")
    measured = measured.filter((pl.col("history") > 0) & (pl.col("site_median") > 0))
    ratio = pl.min_horizontal(amount / pl.col("history"), amount / pl.col("site_median"))
    return measured.group_by("customer_id").agg(ratio.max().alias("value_spike_ratio"))


def cross_channel_duplicates(orders: pl.DataFrame) -> pl.DataFrame:
    """Marketplace orders of the customer with the amount and currency of one of their web orders, within an hour."""
    keys = ["customer_id", "currency", "total_amount"]
    web = orders.filter(pl.col("source") == "web").select(*keys, pl.col("order_ts").alias("web_ts"))
    market = orders.filter(pl.col("source") == "marketplace").select(*keys, "order_id", "order_ts")
    pairs = market.join(web, on=keys).filter((pl.col("order_ts") - pl.col("web_ts")).abs() <= HOUR)
    return pairs.group_by("customer_id").agg(
        pl.col("order_id").n_unique().cast(pl.Int64).alias("cross_channel_duplicates")
    )


def cart_to_purchase_seconds(events: pl.DataFrame) -> pl.DataFrame:
    """Fastest purchase after the last add-to-cart before it, in the same session."""
    in_session = events.filter(pl.col("session_id").is_not_null())
    carts = in_session.filter(pl.col("event_type") == "add_to_cart").select(
        "session_id", pl.col("event_ts").alias("cart_ts")
    )
    purchases = in_session.filter(pl.col("event_type") == "purchase").select("customer_id", "session_id", "event_ts")
    pairs = purchases.join(carts, on="session_id").filter(pl.col("cart_ts") <= pl.col("event_ts"))
    last_cart = pairs.group_by("customer_id", "session_id", "event_ts").agg(pl.col("cart_ts").max())
    seconds = (pl.col("event_ts") - pl.col("cart_ts")).dt.total_milliseconds() / 1000
    return last_cart.group_by("customer_id").agg(seconds.min().alias("cart_to_purchase_seconds"))


def failed_logins_before_purchase(events: pl.DataFrame) -> pl.DataFrame:
    """Most failed logins to the customer's accounts in the hour before one of their purchases."""
    failed = events.filter((pl.col("event_type") == "login") & pl.col("login_success").not_()).select(
        "customer_id", pl.col("event_ts").alias("failed_ts")
    )
    purchases = events.filter(pl.col("event_type") == "purchase").select("customer_id", "event_ts")
    before = (pl.col("failed_ts") <= pl.col("event_ts")) & (pl.col("failed_ts") >= pl.col("event_ts") - HOUR)
    counted = purchases.join(failed, on="customer_id").filter(before).group_by("customer_id", "event_ts").len()
    return counted.group_by("customer_id").agg(
        pl.col("len").max().cast(pl.Int64).alias("failed_logins_before_purchase")
    )


def device_customers(device_accounts: pl.DataFrame, accounts: pl.DataFrame) -> pl.DataFrame:
    """Most distinct customers signed in on one device the customer was signed in on."""
    owners = device_accounts.join(accounts.select("user_id", "customer_id"), on="user_id").select(
        "device_id", "customer_id"
    )
    sharing = owners.unique().with_columns(pl.col("customer_id").n_unique().over("device_id").alias("customers"))
    return sharing.group_by("customer_id").agg(pl.col("customers").max().cast(pl.Int64).alias("device_customers"))


def identifier_customers(identifiers: pl.DataFrame) -> pl.DataFrame:
    """Most customers holding one of the customer's identifiers (the graph links a shared value to each holder)."""
    held = identifiers.select("customer_id", "kind", "value").unique()
    holders = held.with_columns(pl.col("customer_id").n_unique().over("kind", "value").alias("holders"))
    return holders.group_by("customer_id").agg(pl.col("holders").max().cast(pl.Int64).alias("identifier_customers"))


def accounts_created_together(device_accounts: pl.DataFrame, accounts: pl.DataFrame) -> pl.DataFrame:
    """Most accounts created within an hour of one of the customer's, seen on one device or held by one customer."""
    # 1. the groups accounts are compared within: each device they were signed in on, and their customer
    by_device = device_accounts.select(pl.concat_str(pl.lit("device:"), "device_id").alias("group"), "user_id")
    by_customer = accounts.select(pl.concat_str(pl.lit("customer:"), "customer_id").alias("group"), "user_id")
    members = pl.concat([by_device, by_customer]).unique().join(accounts, on="user_id")
    # 2. for each account in each group, the group's accounts created within an hour of it (itself included)
    others = members.select("group", pl.col("user_id").alias("other"), pl.col("created_at").alias("other_created"))
    near = (pl.col("other_created") - pl.col("created_at")).abs() <= HOUR
    counts = members.join(others, on="group").filter(near).group_by("customer_id", "group", "user_id")
    together = counts.agg(pl.col("other").n_unique().alias("together"))
    # 3. the customer's largest such group
    return together.group_by("customer_id").agg(
        pl.col("together").max().cast(pl.Int64).alias("accounts_created_together")
    )
