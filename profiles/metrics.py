"""Customer metrics from orders and events, attributed through the identity links (pure Polars)."""

from __future__ import annotations

from decimal import Decimal

import polars as pl

from identity.normalize import normalize_device_id

CHANNELS = ("web", "pos", "marketplace")
MONEY = pl.Decimal(12, 2)


def attribute_events(events: pl.DataFrame, identifier_links: pl.DataFrame) -> pl.DataFrame:
    """Events with the customer they belong to: by user id first, else by (trusted) device id."""
    trusted = identifier_links.filter(pl.col("rule").str.starts_with("exact:"))
    by_kind = {
        kind: trusted.filter(pl.col("kind") == kind).select(pl.col("value"), pl.col("customer_id"))
        for kind in ("user_id", "device_id")
    }
    devices = events["device_id"].drop_nulls().unique()
    normalised = dict(zip(devices.to_list(), [normalize_device_id(d) for d in devices.to_list()], strict=True))
    events = events.with_columns(pl.col("device_id").replace_strict(normalised, default=None, return_dtype=pl.String))
    with_user = events.with_columns(pl.col("user_id").cast(pl.String).alias("__user")).join(
        by_kind["user_id"].rename({"value": "__user", "customer_id": "__by_user"}), on="__user", how="left"
    )
    with_device = with_user.join(
        by_kind["device_id"].rename({"value": "device_id", "customer_id": "__by_device"}), on="device_id", how="left"
    )
    attributed = with_device.with_columns(pl.coalesce("__by_user", "__by_device").alias("customer_id"))
    return attributed.drop("__user", "__by_user", "__by_device").filter(pl.col("customer_id").is_not_null())


def item_counts(order_items: pl.DataFrame) -> pl.DataFrame:
    """Items per order (sum of quantities of lines not deleted)."""
    live = order_items.filter(~pl.col("is_deleted"))
    return live.group_by("order_id").agg(pl.col("quantity").sum().cast(pl.Int32).alias("item_count"))


def customer_orders(orders: pl.DataFrame, record_links: pl.DataFrame) -> pl.DataFrame:
    """Orders with the customer they belong to (orders of no customer are left out)."""
    order_links = record_links.filter(pl.col("kind") == "orders").select(
        pl.col("value").alias("order_id"), "customer_id"
    )
    return orders.join(order_links, on="order_id", how="inner")


def customer_metrics(
    customer_ids: pl.Series, orders: pl.DataFrame, events: pl.DataFrame, *, build_id: str
) -> pl.DataFrame:
    """One row per customer (zeros when they never ordered) in the shape of `gold.customer_metrics`.

    `orders` and `events` are already attributed (a `customer_id` column); deleted orders excluded.
    """
    per_channel = [
        agg
        for channel in CHANNELS
        for agg in (
            (pl.col("source") == channel).sum().cast(pl.Int32).alias(f"{channel}_order_count"),
            pl.col("total_amount").filter(pl.col("source") == channel).sum().alias(f"{channel}_value"),
        )
    ]
    order_stats = orders.group_by("customer_id").agg(
        pl.len().cast(pl.Int32).alias("order_count"),
        pl.col("total_amount").sum().alias("lifetime_value"),
        pl.col("order_ts").min().alias("first_order_ts"),
        pl.col("order_ts").max().alias("last_order_ts"),
        *per_channel,
    )
    event_stats = events.group_by("customer_id").agg(
        pl.len().cast(pl.Int32).alias("event_count"), pl.col("event_ts").max().alias("last_event_ts")
    )
    frame = pl.DataFrame({"customer_id": customer_ids}).join(order_stats, on="customer_id", how="left")
    frame = frame.join(event_stats, on="customer_id", how="left")
    counts = ["order_count", "event_count", *(f"{c}_order_count" for c in CHANNELS)]
    values = ["lifetime_value", *(f"{c}_value" for c in CHANNELS)]
    frame = frame.with_columns(
        *[pl.col(c).fill_null(0).cast(pl.Int32) for c in counts],
        *[pl.col(c).fill_null(0).cast(MONEY) for c in values],
    )
    return frame.with_columns(_average(), pl.lit(build_id).alias("build_id"))


def cents(column: str) -> pl.Expr:
    """A decimal(12,2) money column as exact integer cents."""
    return (pl.col(column) * 100).cast(pl.Int64)


def _average() -> pl.Expr:
    """Lifetime value / order count, rounded half up to the cent (decimal division would truncate)."""
    count = pl.col("order_count").cast(pl.Int64)
    rounded_cents = (cents("lifetime_value") * 2 + count) // (count * 2)
    as_money = (rounded_cents.cast(pl.Decimal(18, 0)) * pl.lit(Decimal("0.01"))).cast(MONEY)
    return pl.when(count > 0).then(as_money).alias("average_order_value")
