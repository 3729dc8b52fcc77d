"""The profiles job: metrics into `gold.customer_metrics`, then the serving projection."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime

import polars as pl
from sqlalchemy import Engine
from sqlmodel import SQLModel

from identity.attribution import attribute_events, customer_orders
from identity.normalize import IDENTIFIER_KINDS
from lakehouse import write
from lakehouse.lake import Lake
from lakehouse.query import equal_to, read_polars
from lakehouse.snapshots import current_snapshot_id, last_property
from profiles.document import render
from profiles.fresh import add_events
from profiles.metrics import customer_metrics, item_counts
from profiles.projection import (
    edge_rows,
    event_rows,
    order_rows,
    profile_rows,
    project,
    redirect_rows,
    risk_rows,
    served_build,
    version_rows,
)
from schema import lake as tables
from schema.lake import PROP_BUILD_ID, PROP_INPUTS
from schema.store import (
    CustomerEvent,
    CustomerIdentifier,
    CustomerOrder,
    CustomerProfile,
    CustomerRedirect,
    CustomerRisk,
    CustomerVersion,
    EvidenceEdge,
    ServingBuild,
    StockLevel,
)

logger = logging.getLogger(__name__)

ORDER_COLUMNS = ("order_id", "source", "platform", "status", "currency", "total_amount", "store_id", "order_ts")
# The conformed tables a gold build reads; when none changed, the build would come out the same.
# stores: till country; inventory snapshots: served for stock lookups
GOLD_INPUTS = (
    tables.USERS,
    tables.ORDERS,
    tables.ORDER_ITEMS,
    tables.EVENTS,
    tables.STORES,
    tables.INVENTORY_SNAPSHOTS,
)
EVENT_COLUMNS = ("event_id", "event_type", "event_ts", "user_id", "device_id", "session_id", "product_id", "order_id",
                 "page_url")  # fmt: skip
VERSION_COLUMNS = ("user_id", "valid_from", "valid_to", "email", "phone", "first_name", "last_name", "loyalty_id")
STOCK_COLUMNS = ("product_id", "store_id", "snapshot_ts", "on_hand", "reserved", "available")
# Written by one gold build each, in this order; the build is current only when all carry its id and inputs.
GOLD_OUTPUTS = (tables.CUSTOMERS, tables.IDENTITY_LINKS, tables.RISK_SCORES, tables.CUSTOMER_METRICS)
SERVED_FROM = (*GOLD_OUTPUTS, tables.USERS, tables.ORDERS, tables.EVENTS)  # what the serving rows are made of


@dataclass
class ProfilesReport:
    """What a profiles build produced."""

    build_id: str
    customers: int
    orders_attributed: int
    events_attributed: int


def gold_inputs(lake: Lake, *, overrides: str = "", identity_settings: str = "") -> str:
    """Every input of a gold build as JSON: table snapshots, the overrides' digest, the identity settings.

    A change to any of them makes the next build resolve again.
    """
    snapshots: dict[str, object] = {t.full_name: current_snapshot_id(lake.table(t)) for t in GOLD_INPUTS}
    if overrides:
        snapshots["identity_overrides"] = overrides
    if identity_settings:
        snapshots["identity_settings"] = identity_settings
    return json.dumps(snapshots, sort_keys=True)


def gold_is_current(lake: Lake, engine: Engine, inputs: str) -> bool:
    """True when every gold table was built, by one build, from exactly these inputs, and that build is served."""
    builds = set()
    for definition in GOLD_OUTPUTS:
        table = lake.table(definition)
        if last_property(table, PROP_INPUTS) != inputs:
            return False
        builds.add(last_property(table, PROP_BUILD_ID))
    return len(builds) == 1 and served_build(engine) in builds


def run_profiles(lake: Lake, engine: Engine, *, build_id: str, now: datetime, inputs: str = "") -> ProfilesReport:
    """Compute metrics for the current identity build and project everything into the store."""
    customers = read_polars(lake.table(tables.CUSTOMERS))
    links = read_polars(lake.table(tables.IDENTITY_LINKS))
    orders = read_polars(lake.table(tables.ORDERS), row_filter="is_deleted == false", columns=ORDER_COLUMNS)
    orders = orders.join(item_counts(read_polars(lake.table(tables.ORDER_ITEMS))), on="order_id", how="left")
    events_table = lake.table(tables.EVENTS)  # one snapshot, read now; `_serve_late_events` reads what came after
    events_read = current_snapshot_id(events_table)
    events = read_polars(events_table, columns=EVENT_COLUMNS)
    record_links = links.filter(pl.col("link_type") == "record")
    identifier_links = links.filter(pl.col("link_type") == "identifier")
    attributed_orders = customer_orders(orders, record_links)
    attributed_events = attribute_events(events, identifier_links)
    metrics = customer_metrics(customers["customer_id"], attributed_orders, attributed_events, build_id=build_id)
    props = {PROP_BUILD_ID: build_id, PROP_INPUTS: inputs}
    write.replace_all(lake.table(tables.CUSTOMER_METRICS), metrics.to_arrow(), properties=props)
    identifier_rows = identifier_links.filter(pl.col("kind").is_in(IDENTIFIER_KINDS)).select(
        "kind", "value", "customer_id", "rule"
    )
    served_orders, served_events = order_rows(attributed_orders), event_rows(attributed_events)
    profiles = profile_rows(customers, metrics)
    rows: dict[type[SQLModel], pl.DataFrame] = {
        CustomerProfile: profiles.with_columns(render(profiles, identifier_rows, served_orders, served_events)),
        CustomerIdentifier: identifier_rows,
        CustomerOrder: served_orders,
        CustomerEvent: served_events,
        CustomerVersion: version_rows(read_polars(lake.table(tables.USERS), columns=VERSION_COLUMNS), record_links),
        EvidenceEdge: edge_rows(read_polars(lake.table(tables.IDENTITY_EVIDENCE))),
        StockLevel: read_polars(lake.table(tables.INVENTORY_SNAPSHOTS), columns=STOCK_COLUMNS),
        CustomerRedirect: redirect_rows(read_polars(lake.table(tables.CUSTOMER_ID_CHANGES)), customers["customer_id"]),
        CustomerRisk: risk_rows(read_polars(lake.table(tables.RISK_SCORES), row_filter=equal_to(build_id=build_id))),
    }
    build = ServingBuild(
        build_id=build_id, created_at=now, customers=len(customers), identifiers=len(rows[CustomerIdentifier]),
        orders=len(attributed_orders),
    )  # fmt: skip
    project(engine, build, rows, before_swap=lambda: _refuse_if_erased(lake))
    _serve_late_events(lake, engine, events_read, events["event_id"])
    report = ProfilesReport(build_id, len(customers), len(attributed_orders), len(attributed_events))
    logger.info("profiles build %s: %s", build_id, report)
    return report


def _refuse_if_erased(lake: Lake) -> None:
    """Keep the served build when an erasure touched what the new one was made of since the build's
    erasure fence went up (`write.fenced_against_erasure`): its rows may hold the subject again."""
    for definition in SERVED_FROM:
        write.refuse_if_erased(lake.table(definition), definition.full_name)


def _serve_late_events(lake: Lake, engine: Engine, read: int | None, served: pl.Series) -> None:
    """Serve the events the stream worker committed after the build read them, as fresh activity.

    Their batches' hooks may have run against the store this projection just replaced; the hook
    skips events served already, so whichever runs last finds the work done.
    """
    current = lake.table(tables.EVENTS)
    if current_snapshot_id(current) == read:
        return
    late = read_polars(current, columns=EVENT_COLUMNS).filter(~pl.col("event_id").is_in(served.implode()))
    if len(late):
        logger.info("%d event(s) committed during the build are served as fresh activity", len(late))
        add_events(engine, late)
