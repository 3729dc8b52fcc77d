"""Which customer each order and event belongs to, through a build's identity links (pure Polars).

Profiles and risk both attribute activity this way, so a customer's metrics and risk features
always count the same orders and events.
"""

from __future__ import annotations

import polars as pl

from identity.normalize import normalize_device_id


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


def customer_orders(orders: pl.DataFrame, record_links: pl.DataFrame) -> pl.DataFrame:
    """Orders with the customer they belong to (orders of no customer are left out)."""
    order_links = record_links.filter(pl.col("kind") == "orders").select(
        pl.col("value").alias("order_id"), "customer_id"
    )
    return orders.join(order_links, on="order_id", how="inner")
