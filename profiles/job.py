"""The profiles job: metrics into `gold.customer_metrics`, then the serving projection."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import polars as pl
from sqlalchemy import Engine

from identity.records import IDENTIFIER_KINDS
from lakehouse import write
from lakehouse.lake import Lake
from lakehouse.query import read_polars
from profiles.metrics import attribute_events, customer_metrics, customer_orders
from profiles.projection import order_rows, profile_rows, project
from schema import lake as tables
from schema.lake import PROP_BUILD_ID

logger = logging.getLogger(__name__)

ORDER_COLUMNS = (
    "order_id",
    "source",
    "platform",
    "status",
    "currency",
    "total_amount",
    "item_count",
    "store_id",
    "order_ts",
)


@dataclass
class ProfilesReport:
    """What a profiles build produced."""

    build_id: str
    customers: int
    orders_attributed: int
    events_attributed: int


def run_profiles(lake: Lake, engine: Engine, *, build_id: str, now: datetime) -> ProfilesReport:
    """Compute metrics for the current identity build and project everything into the store."""
    customers = read_polars(lake.table(tables.CUSTOMERS))
    links = read_polars(lake.table(tables.IDENTITY_LINKS))
    orders = read_polars(lake.table(tables.ORDERS), row_filter="is_deleted == false", columns=ORDER_COLUMNS)
    events = read_polars(lake.table(tables.EVENTS), columns=("event_id", "user_id", "device_id", "event_ts"))
    record_links = links.filter(pl.col("link_type") == "record")
    identifier_links = links.filter(pl.col("link_type") == "identifier")
    attributed_orders = customer_orders(orders, record_links)
    attributed_events = attribute_events(events, identifier_links)
    metrics = customer_metrics(customers["customer_id"], attributed_orders, attributed_events, build_id=build_id)
    write.replace_all(lake.table(tables.CUSTOMER_METRICS), metrics.to_arrow(), properties={PROP_BUILD_ID: build_id})
    project(
        engine,
        build_id=build_id,
        now=now,
        profiles=profile_rows(customers, metrics),
        identifiers=identifier_links.filter(pl.col("kind").is_in(IDENTIFIER_KINDS)).select(
            "kind", "value", "customer_id", "rule"
        ),
        orders=order_rows(attributed_orders),
    )
    report = ProfilesReport(build_id, len(customers), len(attributed_orders), len(attributed_events))
    logger.info("profiles build %s: %s", build_id, report)
    return report
