"""Stock per store: the latest snapshot of a product (or as of a time), and low stock in a store."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from api.deps import InventoryReader, SessionDep
from api.models import ProblemPublic, error_responses
from api.pagination import Cursor, Limit, Page, decode, encode
from profiles import inventory
from schema.store import StockLevel

router = APIRouter(prefix="/v1/inventory", tags=["inventory"])
ERRORS = error_responses("inventory:read")


STOCK_EXAMPLE: dict[str, Any] = {
    "product_id": "P00001", "store_id": "S001", "snapshot_ts": "2026-10-31T06:00:00Z", "on_hand": 25, "reserved": 3,
    "available": 22,
}  # fmt: skip


class StockPublic(BaseModel):
    """Stock of a product in a store at a snapshot."""

    model_config = ConfigDict(json_schema_extra={"examples": [STOCK_EXAMPLE]})

    product_id: str
    store_id: str
    snapshot_ts: datetime
    on_hand: int | None
    reserved: int | None
    available: int | None = Field(description="on hand less reserved, never below zero")

    @classmethod
    def from_store(cls, level: StockLevel) -> StockPublic:
        """From a serving row."""
        return cls.model_validate(level, from_attributes=True)


class StockList(BaseModel):
    """The product's stock in each store (or the one asked for)."""

    product_id: str
    as_of: datetime | None
    data: list[StockPublic]


@router.get(
    "/{product_id}",
    response_model=StockList,
    responses={**ERRORS, 404: {"model": ProblemPublic, "description": "no snapshot of the product (by then)"}},
)
def get_stock(
    product_id: Annotated[str, Path(max_length=64, examples=["P-1042"])],
    session: SessionDep,
    _caller: InventoryReader,
    store_id: Annotated[str | None, Query(max_length=32)] = None,
    as_of: Annotated[AwareDatetime | None, Query(description="stock as of this time (default: latest)")] = None,
) -> StockList:
    """The latest stock of a product in each store, or as of a time; one store with `store_id`."""
    levels = inventory.list_stock(session, product_id=product_id, store_id=store_id, as_of=as_of)
    return StockList(product_id=product_id, as_of=as_of, data=[StockPublic.from_store(s) for s in levels])


@router.get("/stores/{store_id}", response_model=Page[StockPublic], responses=ERRORS)
def list_low_stock(
    store_id: Annotated[str, Path(max_length=32, examples=["S-001"])],
    session: SessionDep,
    _caller: InventoryReader,
    below: Annotated[int, Query(ge=1, le=1_000_000, description="available strictly below this")] = 5,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[StockPublic]:
    """Products whose latest snapshot in the store has fewer than `below` available."""
    after = decode(cursor, 1)[0] if cursor is not None else None
    levels = inventory.list_low_stock(session, store_id=store_id, below=below, after=after, limit=limit)
    last = levels[-1] if len(levels) == limit else None
    return Page[StockPublic](
        data=[StockPublic.from_store(s) for s in levels], next_cursor=encode(last.product_id) if last else None
    )
