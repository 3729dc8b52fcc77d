"""Reads of the serving store behind the Customer 360 API."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy import Engine, and_, bindparam, or_
from sqlalchemy.orm import Mapped
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from core.db import PointRead, ReadConnections
from core.errors import CustomerMovedError, InvalidInputError, NoSuchCustomerError
from identity.normalize import IdentifierKind, normalize_identifier
from profiles.document import risk_summary
from schema.store import (
    CustomerEvent,
    CustomerIdentifier,
    CustomerOrder,
    CustomerProfile,
    CustomerRedirect,
    CustomerRisk,
    CustomerVersion,
    EvidenceEdge,
)

Keyset = tuple[datetime, str]  # (time, id) of the last row a page held


class Documents:
    """Profile documents by customer id: the API's hottest read, one compiled point query."""

    def __init__(self, engine: Engine):
        self._engine = engine
        by_id = select(CustomerProfile.document).where(CustomerProfile.customer_id == bindparam("customer_id"))
        by_identifier = (
            select(CustomerProfile.customer_id, CustomerProfile.document)
            .join(CustomerIdentifier, col(CustomerIdentifier.customer_id) == col(CustomerProfile.customer_id))
            .where(CustomerIdentifier.kind == bindparam("kind"), CustomerIdentifier.value == bindparam("value"))
            .where(col(CustomerProfile.document).is_not(None))
            .order_by(col(CustomerIdentifier.rule), col(CustomerProfile.customer_id))
        )
        risk_by_id = select(CustomerRisk.score, CustomerRisk.reasons, CustomerRisk.scored_at).where(
            CustomerRisk.customer_id == bindparam("customer_id")
        )
        connections = ReadConnections(engine)
        self._read = PointRead(engine, by_id, connections)
        self._lookup = PointRead(engine, by_identifier, connections)
        self._risk = PointRead(engine, risk_by_id, connections)

    def get(self, *, customer_id: str) -> str:
        """The rendered profile document of one customer.

        Raises CustomerMovedError for an id an earlier build merged or split away, NoSuchCustomerError
        for an id never seen.
        """
        row = self._read.one(customer_id=customer_id)
        if row is not None and row[0] is not None:
            return str(row[0])
        with Session(self._engine) as session:
            get(session, customer_id=customer_id)  # raises why there is none
        raise NoSuchCustomerError(f"customer {customer_id} has no rendered profile yet")

    def list_by_identifier(self, *, kind: IdentifierKind, value: str, default_region: str) -> list[tuple[str, str]]:
        """(customer id, document) of the customers an identifier leads to (several for a shared one).

        The value is normalised as at ingestion; InvalidInputError when it cannot be.
        """
        normalised = normalize_identifier(kind, value, default_region=default_region)
        if normalised is None:
            raise InvalidInputError(f"{kind} value cannot be normalised")
        return [(str(c), str(d)) for c, d in self._lookup.all(kind=kind, value=normalised)]

    def risk(self, *, customer_id: str) -> str | None:
        """The customer's latest risk summary as profile JSON, or None if it was never scored."""
        row = self._risk.one(customer_id=customer_id)
        if row is None:
            return None
        score, reasons, scored_at = row
        return risk_summary(score, reasons, _utc(scored_at))


def _utc(stored: datetime | str) -> datetime:
    """A UTC time as the DBAPI returns it from a UTCDateTime column (naive, or text on SQLite)."""
    value = stored if isinstance(stored, datetime) else datetime.fromisoformat(stored)
    return value.replace(tzinfo=UTC)


def get(session: Session, *, customer_id: str) -> CustomerProfile:
    """The profile of one customer.

    Raises CustomerMovedError for an id an earlier build merged or split away, NoSuchCustomerError
    for an id never seen.
    """
    profile = session.get(CustomerProfile, customer_id)
    if profile is not None:
        return profile
    moved = select(CustomerRedirect.new_customer_id).where(CustomerRedirect.old_customer_id == customer_id)
    if current := sorted(session.exec(moved)):
        raise CustomerMovedError(customer_id, current)
    raise NoSuchCustomerError(f"no customer {customer_id}")


def example_email(session: Session) -> str | None:
    """For the demo: the e-mail of a customer with at most ten orders, spread over web, till and marketplace."""
    statement = (
        select(CustomerProfile.email)
        .where(
            CustomerProfile.web_order_count > 0,
            CustomerProfile.pos_order_count > 0,
            CustomerProfile.marketplace_order_count > 0,
            CustomerProfile.order_count <= 10,
            col(CustomerProfile.email).is_not(None),
        )
        .order_by(col(CustomerProfile.customer_id))
    )
    return session.exec(statement).first()


Row = TypeVar("Row", CustomerOrder, CustomerEvent)


def _page(
    statement: SelectOfScalar[Row],
    at: Mapped[datetime],
    key: Mapped[str],
    *,
    since: datetime | None,
    until: datetime | None,
    after: Keyset | None,
    limit: int,
) -> SelectOfScalar[Row]:
    """Newest first by (time, id), in [since, until), from after the keyset `after` on (keyset paging)."""
    if since is not None:
        statement = statement.where(at >= since)
    if until is not None:
        statement = statement.where(at < until)
    if after is not None:
        statement = statement.where(or_(at < after[0], and_(at == after[0], key < after[1])))
    return statement.order_by(at.desc(), key.desc()).limit(limit)


def list_orders(
    session: Session,
    *,
    customer_id: str,
    source: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    after: Keyset | None = None,
    limit: int = 50,
) -> list[CustomerOrder]:
    """A page of the customer's orders, newest first, optionally of one channel and time range."""
    statement = select(CustomerOrder).where(CustomerOrder.customer_id == customer_id)
    if source is not None:
        statement = statement.where(CustomerOrder.source == source)
    at, key = col(CustomerOrder.order_ts), col(CustomerOrder.order_id)
    return list(session.exec(_page(statement, at, key, since=since, until=until, after=after, limit=limit)))


def list_events(
    session: Session,
    *,
    customer_id: str,
    event_type: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    after: Keyset | None = None,
    limit: int = 50,
) -> list[CustomerEvent]:
    """A page of the customer's events, newest first, optionally of one type and time range."""
    statement = select(CustomerEvent).where(CustomerEvent.customer_id == customer_id)
    if event_type is not None:
        statement = statement.where(CustomerEvent.event_type == event_type)
    at, key = col(CustomerEvent.event_ts), col(CustomerEvent.event_id)
    return list(session.exec(_page(statement, at, key, since=since, until=until, after=after, limit=limit)))


def list_versions(session: Session, *, customer_id: str) -> list[CustomerVersion]:
    """Every SCD2 version of the customer's accounts, oldest first."""
    statement = (
        select(CustomerVersion)
        .where(CustomerVersion.customer_id == customer_id)
        .order_by(col(CustomerVersion.valid_from), col(CustomerVersion.user_id))
    )
    return list(session.exec(statement))


def list_graph_edges(session: Session, *, customer_id: str) -> list[EvidenceEdge]:
    """The identity graph edges of the customer, as the last build left them."""
    statement = select(EvidenceEdge).where(EvidenceEdge.customer_id == customer_id).order_by(col(EvidenceEdge.id))
    return list(session.exec(statement))


def customers_of_node(session: Session, *, record_id: str | None, kind: str | None, value: str | None) -> set[str]:
    """The customers whose graphs hold a record (by id) or an identifier (by kind and value).

    A record is in one; an identifier may be in several (a link cut between two customers).
    Raises NoSuchCustomerError when none holds it.
    """
    if record_id is not None:
        found = select(EvidenceEdge.customer_id).where(
            EvidenceEdge.record_id == record_id, EvidenceEdge.edge == "record"
        )
    else:
        found = select(EvidenceEdge.customer_id).where(
            EvidenceEdge.target_kind == kind, EvidenceEdge.target_value == value, EvidenceEdge.edge == "identifier"
        )
    owners = set(session.exec(found.distinct()))
    if not owners:
        raise NoSuchCustomerError("it belongs to no customer of the last build")
    return owners
