"""Fresh activity: events the stream worker has just committed, served before the next build.

Each committed micro-batch's conformed events are attributed through the served identifiers (by
account, else by trusted device, as a build attributes them), added to `serving_events` once each,
counted into their customers' profiles, and those customers' documents are rendered again; all in
one store transaction, so a reader sees a batch whole or not at all. The next build recomputes
everything from the lake and replaces it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import polars as pl
from sqlalchemy import Engine, and_, insert, or_, update
from sqlmodel import Session, SQLModel, col, select

from identity.attribution import attribute_events
from identity.graph import HOUSEHOLD_REASON
from identity.normalize import normalize_device_id
from identity.records import map_distinct
from profiles.document import render
from profiles.projection import event_rows, model_frame
from schema.store import CustomerEvent, CustomerIdentifier, CustomerOrder, CustomerProfile

logger = logging.getLogger(__name__)


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
    devices = map_distinct(events["device_id"], normalize_device_id).drop_nulls().unique().to_list()
    statement = select(CustomerIdentifier).where(
        or_(
            and_(col(CustomerIdentifier.kind) == "user_id", col(CustomerIdentifier.value).in_(users)),
            and_(col(CustomerIdentifier.kind) == "device_id", col(CustomerIdentifier.value).in_(devices)),
        )
    )
    return model_frame(CustomerIdentifier, session.exec(statement).all())


def _count(session: Session, new: pl.DataFrame) -> None:
    """Add each customer's new events to its event count and last event time."""
    per_customer = new.group_by("customer_id").agg(pl.len().alias("n"), pl.col("event_ts").max().alias("last"))
    for customer_id, n, last in per_customer.iter_rows():
        profile = session.get(CustomerProfile, customer_id)
        if profile is None:
            continue
        latest = last if profile.last_event_ts is None else max(profile.last_event_ts, last)
        seen = latest if profile.last_seen is None else max(profile.last_seen, latest)
        session.execute(
            update(CustomerProfile)
            .where(col(CustomerProfile.customer_id) == customer_id)
            .values(event_count=CustomerProfile.event_count + n, last_event_ts=latest, last_seen=seen)
        )


def _render(session: Session, customers: list[str]) -> None:
    """Render the documents of these customers again from their served rows."""
    session.expire_all()
    rows = {model: _rows(session, model, customers) for model in (CustomerProfile, CustomerOrder, CustomerEvent)}
    profiles = rows[CustomerProfile]
    documents = render(profiles, _identifiers(session, customers), rows[CustomerOrder], rows[CustomerEvent])
    for customer_id, document in zip(profiles["customer_id"], documents, strict=True):
        session.execute(
            update(CustomerProfile).where(col(CustomerProfile.customer_id) == customer_id).values(document=document)
        )


def _identifiers(session: Session, customers: list[str]) -> pl.DataFrame:
    """The customers' identifiers, and the other members' rows of their family ones (household links)."""
    theirs = _rows(session, CustomerIdentifier, customers)
    family = theirs.filter(pl.col("rule").str.starts_with(HOUSEHOLD_REASON))
    if family.is_empty():
        return theirs
    shared = or_(*(and_(col(CustomerIdentifier.kind) == k, col(CustomerIdentifier.value) == v)
                   for k, v in family.select("kind", "value").unique().iter_rows()))  # fmt: skip
    members = session.exec(
        select(CustomerIdentifier).where(shared, ~col(CustomerIdentifier.customer_id).in_(customers))
    )
    return pl.concat([theirs, model_frame(CustomerIdentifier, members.all())])


def _rows(session: Session, model: type[SQLModel], customers: list[str]) -> pl.DataFrame:
    found = session.exec(select(model).where(col(model.customer_id).in_(customers)))  # type: ignore[attr-defined]
    return model_frame(model, found.all())
