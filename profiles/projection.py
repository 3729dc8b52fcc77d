"""The serving projection: gold rows copied into the operational store in one transaction.

Readers see the previous build until the new one commits, then the new one whole; no request
scans Iceberg.
"""

from __future__ import annotations

from datetime import datetime

import polars as pl
from sqlalchemy import Engine, delete, insert
from sqlmodel import Session, select

from profiles.metrics import cents
from schema.store import CustomerIdentifier, CustomerOrder, CustomerProfile, ServingBuild

_PROFILE_COLUMNS = list(CustomerProfile.model_fields)
_ORDER_COLUMNS = list(CustomerOrder.model_fields)
_CHUNK = 5_000


def profile_rows(customers: pl.DataFrame, metrics: pl.DataFrame) -> pl.DataFrame:
    """Serving profiles: golden attributes joined to metrics, money in cents."""
    money = ["lifetime_value", "web_value", "pos_value", "marketplace_value"]
    joined = customers.join(metrics.drop("build_id"), on="customer_id", how="left")
    totals = [cents(m).fill_null(0).alias(f"{m}_cents") for m in money]
    average = cents("average_order_value").alias("average_order_value_cents")
    return joined.with_columns(*totals, average).select(_PROFILE_COLUMNS)


def order_rows(orders: pl.DataFrame) -> pl.DataFrame:
    """Serving orders from attributed conformed orders."""
    return orders.with_columns(cents("total_amount").fill_null(0).alias("total_cents")).select(_ORDER_COLUMNS)


def served_build(engine: Engine) -> str | None:
    """The build the serving tables hold (the projection keeps only that one), or None before the first."""
    with Session(engine) as session:
        return session.exec(select(ServingBuild.build_id)).first()


def project(
    engine: Engine,
    *,
    build_id: str,
    now: datetime,
    profiles: pl.DataFrame,
    identifiers: pl.DataFrame,
    orders: pl.DataFrame,
) -> ServingBuild:
    """Replace the serving tables with one build, atomically."""
    build = ServingBuild(
        build_id=build_id, created_at=now, customers=len(profiles), identifiers=len(identifiers), orders=len(orders)
    )
    with Session(engine) as session, session.begin():
        for model in (CustomerOrder, CustomerIdentifier, CustomerProfile, ServingBuild):
            session.execute(delete(model))
        for model, frame in ((CustomerProfile, profiles), (CustomerIdentifier, identifiers), (CustomerOrder, orders)):
            rows = frame.to_dicts()
            for start in range(0, len(rows), _CHUNK):
                session.execute(insert(model), rows[start : start + _CHUNK])
        session.add(build)
    return build
