"""The serving projection: gold rows copied into the operational store in one transaction.

Readers see the previous build until the new one commits, then the new one whole; no request
scans Iceberg.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from typing import Any, get_args

import polars as pl
from sqlalchemy import Engine, delete, insert
from sqlmodel import Session, SQLModel, col, select

from core.db import lock_for_writing
from identity.stable import redirects
from lakehouse.query import newest_per
from profiles.metrics import cents
from schema.store import (
    SERVING_MODELS,
    CustomerEvent,
    CustomerOrder,
    CustomerProfile,
    CustomerRedirect,
    CustomerRisk,
    CustomerVersion,
    EvidenceEdge,
    ServingBuild,
)

GRAPH_EDGES = ("record", "identifier", "match", "must_link")
_ORDER_COLUMNS = list(CustomerOrder.model_fields)
_EVENT_COLUMNS = list(CustomerEvent.model_fields)
_REDIRECT_COLUMNS = list(CustomerRedirect.model_fields)
_CHUNK = 5_000
_STORE_ONLY = ("id", "document")  # columns the store keeps that no frame carries
_DTYPES: dict[Any, pl.DataType] = {
    str: pl.String(), int: pl.Int64(), float: pl.Float64(), bool: pl.Boolean(), date: pl.Date(),
    datetime: pl.Datetime("us", "UTC"),
}  # fmt: skip


def model_schema(model: type[SQLModel]) -> dict[str, pl.DataType]:
    """The Polars schema of a serving model's rows, typed from its fields (so empty or all-null columns
    keep their type)."""
    return {name: _dtype(field.annotation) for name, field in model.model_fields.items() if name not in _STORE_ONLY}


def model_frame(model: type[SQLModel], rows: Sequence[SQLModel]) -> pl.DataFrame:
    """Serving rows read back from the store as a typed frame."""
    schema = model_schema(model)
    return pl.DataFrame({c: [getattr(r, c) for r in rows] for c in schema}, schema=schema)


def _dtype(annotation: Any) -> pl.DataType:
    kinds = [a for a in get_args(annotation) if a is not type(None)] or [annotation]
    return _DTYPES[kinds[0]]


_PROFILE_COLUMNS = list(model_schema(CustomerProfile))
_VERSION_COLUMNS = list(model_schema(CustomerVersion))
_EDGE_COLUMNS = list(model_schema(EvidenceEdge))


def profile_rows(customers: pl.DataFrame, metrics: pl.DataFrame) -> pl.DataFrame:
    """Serving profiles: golden attributes joined to metrics, money in cents (documents come later)."""
    money = ["lifetime_value", "web_value", "pos_value", "marketplace_value"]
    joined = customers.join(metrics.drop("build_id"), on="customer_id", how="left")
    totals = [cents(m).fill_null(0).alias(f"{m}_cents") for m in money]
    average = cents("average_order_value").alias("average_order_value_cents")
    return joined.with_columns(*totals, average).select(_PROFILE_COLUMNS)


def order_rows(orders: pl.DataFrame) -> pl.DataFrame:
    """Serving orders from attributed conformed orders."""
    return orders.with_columns(cents("total_amount").fill_null(0).alias("total_cents")).select(_ORDER_COLUMNS)


def event_rows(events: pl.DataFrame) -> pl.DataFrame:
    """Serving events from attributed conformed events."""
    return events.select(_EVENT_COLUMNS)


def version_rows(users: pl.DataFrame, record_links: pl.DataFrame) -> pl.DataFrame:
    """Every SCD2 version of each account, with the customer the account belongs to."""
    accounts = record_links.filter(pl.col("kind") == "users").select(
        pl.col("value").cast(pl.Int64).alias("user_id"), "customer_id"
    )
    return users.join(accounts, on="user_id", how="inner").select(_VERSION_COLUMNS)


def edge_rows(evidence: pl.DataFrame) -> pl.DataFrame:
    """The graph edges of each customer (what explanations need; cuts and set-asides stay in the lake)."""
    kept = evidence.filter(pl.col("customer_id").is_not_null() & pl.col("edge").is_in(GRAPH_EDGES))
    return kept.select(_EDGE_COLUMNS)


def redirect_rows(changes: pl.DataFrame, current_ids: pl.Series) -> pl.DataFrame:
    """Old ids with the current customer(s) holding their records: merged into one, or split across several."""
    targets = redirects(changes, set(current_ids.to_list()))
    rows = [(old, new, "merged" if len(news) == 1 else "split") for old, news in targets.items() for new in news]
    frame = pl.DataFrame(
        rows, schema=dict.fromkeys(("old_customer_id", "new_customer_id", "change"), pl.String), orient="row"
    )
    moved = changes.group_by("old_customer_id", "new_customer_id").agg(pl.col("records").sum())
    joined = frame.join(moved, on=["old_customer_id", "new_customer_id"], how="left")
    return joined.with_columns(pl.col("records").fill_null(0)).select(_REDIRECT_COLUMNS)


def risk_rows(scores: pl.DataFrame) -> pl.DataFrame:
    """Each customer's latest score of `gold.risk_scores` rows (a rescoring appends newer ones)."""
    return newest_per(scores, "customer_id", "scored_at").select(list(CustomerRisk.model_fields))


def project_risk(engine: Engine, rows: pl.DataFrame) -> None:
    """Replace the served risk scores alone (after `c360 score`), atomically."""
    with Session(engine) as session, session.begin():
        session.execute(delete(CustomerRisk))
        _insert(session, CustomerRisk, rows)


def serve_risk(engine: Engine, scores: pl.DataFrame) -> int:
    """Serve newer scores of some customers (stream rescoring) in place of theirs; how many were served.

    Scores of a build other than the served one are dropped: a projection landed meanwhile, and
    its own scores are newer.
    """
    rows = risk_rows(scores)
    with Session(engine) as session, session.begin():
        if set(rows["build_id"]) != {session.exec(select(ServingBuild.build_id)).first()}:
            return 0
        session.execute(delete(CustomerRisk).where(col(CustomerRisk.customer_id).in_(rows["customer_id"].to_list())))
        _insert(session, CustomerRisk, rows)
    return len(rows)


def _insert(session: Session, model: type[SQLModel], frame: pl.DataFrame) -> None:
    for batch in frame.iter_slices(_CHUNK):
        session.execute(insert(model), batch.to_dicts())


def served_build(engine: Engine) -> str | None:
    """The build the serving tables hold (the projection keeps only that one), or None before the first."""
    with Session(engine) as session:
        return session.exec(select(ServingBuild.build_id)).first()


def project(
    engine: Engine,
    build: ServingBuild,
    rows: Mapping[type[SQLModel], pl.DataFrame],
    *,
    before_swap: Callable[[], None] | None = None,
) -> ServingBuild:
    """Replace every serving table with one build's rows, atomically (readers see the old or the new whole).

    `before_swap` runs inside the transaction once it holds the store's write lock (SQLite), and may
    raise to keep the old rows: an erasure that forgets its subject in the store cannot slip between
    that last check and the swap.
    """
    with Session(engine) as session, session.begin():
        lock_for_writing(session, ServingBuild.__tablename__)
        session.execute(delete(ServingBuild))
        if before_swap is not None:
            before_swap()
        for model in SERVING_MODELS:
            session.execute(delete(model))
        for model, frame in rows.items():
            _insert(session, model, frame)
        session.add(build)
    return build
