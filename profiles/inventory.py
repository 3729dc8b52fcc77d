"""Stock lookups over the serving store: latest (or as of a time) per store, and low stock in a store."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, func
from sqlmodel import Session, col, select

from core.errors import NotFoundError
from schema.store import StockLevel


def list_stock(
    session: Session, *, product_id: str, store_id: str | None = None, as_of: datetime | None = None
) -> list[StockLevel]:
    """The newest snapshot at or before `as_of` (default: now) of the product in each store (or one store).

    Raises NotFoundError when no snapshot of the product (in that store, by then) is known.
    """
    latest = select(StockLevel.store_id, func.max(StockLevel.snapshot_ts).label("at")).where(
        StockLevel.product_id == product_id
    )
    if store_id is not None:
        latest = latest.where(StockLevel.store_id == store_id)
    if as_of is not None:
        latest = latest.where(StockLevel.snapshot_ts <= as_of)
    newest = latest.group_by(col(StockLevel.store_id)).subquery()
    statement = (
        select(StockLevel)
        .join(newest, and_(newest.c.store_id == StockLevel.store_id, newest.c.at == StockLevel.snapshot_ts))
        .where(StockLevel.product_id == product_id)
        .order_by(col(StockLevel.store_id))
    )
    levels = list(session.exec(statement))
    if not levels:
        where = f" in store {store_id}" if store_id else ""
        when = f" by {as_of.isoformat()}" if as_of else ""
        raise NotFoundError(f"no stock snapshot of product {product_id}{where}{when}")
    return levels


def list_low_stock(
    session: Session, *, store_id: str, below: int, after: str | None = None, limit: int = 50
) -> list[StockLevel]:
    """Products whose newest snapshot in the store has fewer than `below` available, by product id."""
    newest = (
        select(StockLevel.product_id, func.max(StockLevel.snapshot_ts).label("at"))
        .where(StockLevel.store_id == store_id)
        .group_by(col(StockLevel.product_id))
        .subquery()
    )
    statement = (
        select(StockLevel)
        .join(newest, and_(newest.c.product_id == StockLevel.product_id, newest.c.at == StockLevel.snapshot_ts))
        .where(StockLevel.store_id == store_id, col(StockLevel.available) < below)
    )
    if after is not None:
        statement = statement.where(StockLevel.product_id > after)
    return list(session.exec(statement.order_by(col(StockLevel.product_id)).limit(limit)))
