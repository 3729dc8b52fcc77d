"""Served risk scores: one customer's latest, and the fraud review queue, riskiest first."""

from __future__ import annotations

from sqlalchemy import and_, or_
from sqlmodel import Session, col, select

from core.errors import NotFoundError
from schema.store import CustomerRisk


def get(session: Session, *, customer_id: str) -> CustomerRisk:
    """The customer's latest score; NotFoundError when it was never scored."""
    risk = session.get(CustomerRisk, customer_id)
    if risk is None:
        raise NotFoundError(f"customer {customer_id} has no risk score yet")
    return risk


def list_queue(
    session: Session, *, min_score: int, after: tuple[int, str] | None = None, limit: int = 50
) -> list[CustomerRisk]:
    """Customers scoring at least `min_score`, highest first (ties by id), from after the keyset `after`."""
    statement = select(CustomerRisk).where(CustomerRisk.score >= min_score)
    if after is not None:
        score, customer_id = after
        statement = statement.where(
            or_(
                col(CustomerRisk.score) < score,
                and_(col(CustomerRisk.score) == score, col(CustomerRisk.customer_id) > customer_id),
            )
        )
    order = (col(CustomerRisk.score).desc(), col(CustomerRisk.customer_id))
    return list(session.exec(statement.order_by(*order).limit(limit)))
