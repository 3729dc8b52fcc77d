"""Customer metrics from orders and events attributed by `identity.attribution` (pure Polars)."""

from __future__ import annotations

from decimal import Decimal

import polars as pl

CHANNELS = ("web", "pos", "marketplace")
MONEY = pl.Decimal(12, 2)


def item_counts(order_items: pl.DataFrame) -> pl.DataFrame:
    """Items per order (sum of quantities of lines not deleted)."""
    live = order_items.filter(~pl.col("is_deleted"))
    return live.group_by("order_id").agg(pl.col("quantity").sum().cast(pl.Int32).alias("item_count"))


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
