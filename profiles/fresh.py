"""Fresh activity: events the stream worker has just committed, served before the next build.

Each committed micro-batch's conformed events are attributed through the served identifiers (by
account, else by trusted device, as a build attributes them), added to `serving_events` once each,
counted into their customers' profiles, and those customers' documents are rendered again; all in
one store transaction, so a reader sees a batch whole or not at all. The next build recomputes
everything from the lake and replaces it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl
import pyarrow as pa
from sqlalchemy import Engine, and_, insert, or_, update
from sqlmodel import Session, SQLModel, col, select

from identity.attribution import attribute_events
from profiles.document import render
from profiles.projection import event_rows
from schema.store import CustomerEvent, CustomerIdentifier, CustomerOrder, CustomerProfile

logger = logging.getLogger(__name__)

_PROFILE_COLUMNS = [c for c in CustomerProfile.model_fields if c != "document"]


@dataclass
class FreshReport:
    """What one batch changed in the serving store."""

    events: int
    served: int
    customers: int


def add_events(engine: Engine, events: pl.DataFrame) -> FreshReport:
    """Serve newly committed conformed events; events of no customer, or served already, are skipped."""
    with Session(engine) as session, session.begin():
        links = _identifier_links(session, events)
        attributed = event_rows(attribute_events(events, links)) if len(links) else pl.DataFrame()
        if attributed.is_empty():
            return FreshReport(len(events), 0, 0)
        served = set(
            session.exec(
                select(CustomerEvent.event_id).where(col(CustomerEvent.event_id).in_(attributed["event_id"].to_list()))
            )
        )
        new = attributed.filter(~pl.col("event_id").is_in(list(served)))
        if new.is_empty():
            return FreshReport(len(events), 0, 0)
        session.execute(insert(CustomerEvent), new.to_dicts())
        customers = new["customer_id"].unique().sort().to_list()
        _count(session, new)
        _render(session, customers)
    report = FreshReport(len(events), len(new), len(customers))
    logger.info("fresh activity: %s", report)
    return report


def _identifier_links(session: Session, events: pl.DataFrame) -> pl.DataFrame:
    """The served account and device identifiers the events name, in the shape of identity links."""
    users = events["user_id"].drop_nulls().cast(pl.String).unique().to_list()
    devices = events["device_id"].drop_nulls().unique().to_list()
    statement = select(CustomerIdentifier).where(
        or_(
            and_(col(CustomerIdentifier.kind) == "user_id", col(CustomerIdentifier.value).in_(users)),
            and_(col(CustomerIdentifier.kind) == "device_id", col(CustomerIdentifier.value).in_(devices)),
        )
    )
    return _frame(session.exec(statement).all(), ["kind", "value", "customer_id", "rule"])


def _count(session: Session, new: pl.DataFrame) -> None:
    """Add each customer's new events to its event count and last event time."""
    per_customer = new.group_by("customer_id").agg(pl.len().alias("n"), pl.col("event_ts").max().alias("last"))
    for customer_id, n, last in per_customer.iter_rows():
        profile = session.get(CustomerProfile, customer_id)
        if profile is None:
            continue
        latest = last if profile.last_event_ts is None else max(profile.last_event_ts, last)
        session.execute(
            update(CustomerProfile)
            .where(col(CustomerProfile.customer_id) == customer_id)
            .values(event_count=CustomerProfile.event_count + n, last_event_ts=latest)
        )


def _render(session: Session, customers: list[str]) -> None:
    """Render the documents of these customers again from their served rows."""
    session.expire_all()
    rows: dict[type[SQLModel], pl.DataFrame] = {}
    for model in (CustomerProfile, CustomerIdentifier, CustomerOrder, CustomerEvent):
        found = session.exec(select(model).where(col(model.customer_id).in_(customers))).all()
        columns = _PROFILE_COLUMNS if model is CustomerProfile else [c for c in model.model_fields if c != "id"]
        rows[model] = _frame(found, columns)
    profiles = rows[CustomerProfile]
    documents = render(profiles, rows[CustomerIdentifier], rows[CustomerOrder], rows[CustomerEvent])
    for customer_id, document in zip(profiles["customer_id"], documents, strict=True):
        session.execute(
            update(CustomerProfile).where(col(CustomerProfile.customer_id) == customer_id).values(document=document)
        )


def _frame(models: Sequence[SQLModel], columns: list[str]) -> pl.DataFrame:
    data: dict[str, list[Any]] = {c: [getattr(m, c) for m in models] for c in columns}
    return pl.DataFrame(data, infer_schema_length=None)


def event_sink(engine: Engine) -> Callable[[pa.Table], None]:
    """A stream worker's `on_conformed` hook that serves each committed batch's events."""

    def serve(conformed: pa.Table) -> None:
        add_events(engine, pl.from_arrow(conformed))  # type: ignore[arg-type]

    return serve
