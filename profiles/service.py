"""Reads of the serving store behind the Customer 360 API."""

from __future__ import annotations

from sqlmodel import Session, col, select

from core.errors import InvalidInputError, NoSuchCustomerError
from identity.normalize import IdentifierKind, normalize_identifier
from schema.store import CustomerIdentifier, CustomerOrder, CustomerProfile


def get(session: Session, *, customer_id: str) -> CustomerProfile:
    """The profile of one customer; NoSuchCustomerError if the id is unknown."""
    profile = session.get(CustomerProfile, customer_id)
    if profile is None:
        raise NoSuchCustomerError(f"no customer {customer_id}")
    return profile


def list_by_identifier(
    session: Session, *, kind: IdentifierKind, value: str, default_region: str
) -> list[CustomerProfile]:
    """The customers an identifier leads to (several for a shared one), normalised as at ingestion."""
    normalised = normalize_identifier(kind, value, default_region=default_region)
    if normalised is None:
        raise InvalidInputError(f"{kind} value cannot be normalised")
    statement = (
        select(CustomerProfile)
        .join(CustomerIdentifier, col(CustomerIdentifier.customer_id) == col(CustomerProfile.customer_id))
        .where(CustomerIdentifier.kind == kind, CustomerIdentifier.value == normalised)
        .order_by(col(CustomerIdentifier.rule), col(CustomerProfile.customer_id))
    )
    return list(session.exec(statement))


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


def list_identifiers(session: Session, *, customer_id: str) -> list[CustomerIdentifier]:
    """Every identifier linked to the customer, by kind then value."""
    statement = (
        select(CustomerIdentifier)
        .where(CustomerIdentifier.customer_id == customer_id)
        .order_by(col(CustomerIdentifier.kind), col(CustomerIdentifier.value))
    )
    return list(session.exec(statement))


def list_recent_orders(session: Session, *, customer_id: str, limit: int = 10) -> list[CustomerOrder]:
    """The customer's newest orders across every channel."""
    statement = (
        select(CustomerOrder)
        .where(CustomerOrder.customer_id == customer_id)
        .order_by(col(CustomerOrder.order_ts).desc(), col(CustomerOrder.order_id))
        .limit(limit)
    )
    return list(session.exec(statement))
