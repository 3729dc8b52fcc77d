"""Risk scores: a customer's score with every reason and feature, and the fraud review queue."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from api.deps import RiskReader, SessionDep
from api.models import ProblemPublic, RiskReason, error_responses
from api.pagination import Cursor, Limit, Page, decode, encode
from api.routes.customers import CustomerId
from core.errors import InvalidInputError
from profiles import risk, service
from profiles.document import TOP_REASONS
from schema.store import CustomerRisk

router = APIRouter(prefix="/v1", tags=["risk"])
ERRORS = error_responses("risk:read")


VELOCITY = {"code": "ORDER_VELOCITY_1H", "contribution": 60, "detail": "6 orders within one hour (threshold 5)"}
RISK_EXAMPLE_BRIEF: dict[str, Any] = {
    "customer_id": "C-3f9a0c21d4e5", "score": 80, "scored_at": "2026-10-31T23:00:00Z",
    "reasons": [VELOCITY, {"code": "SHARED_IDENTIFIER", "contribution": 20, "detail": "a device held by 8 customers"}],
}  # fmt: skip
RISK_EXAMPLE: dict[str, Any] = {
    **RISK_EXAMPLE_BRIEF, "build_id": "20261031T230000-1a2b3c4d",
    "features": {"orders_1h": 6, "orders_24h": 6, "shared_identifier_customers": 8},
}  # fmt: skip


class RiskPublic(BaseModel):
    """A customer's latest risk score: each fired reason with the points it added, and every feature."""

    model_config = ConfigDict(json_schema_extra={"examples": [RISK_EXAMPLE]})

    customer_id: str
    score: int = Field(ge=0, le=100)
    reasons: list[RiskReason] = Field(description="largest contribution first; they add up to the score before the cap")
    features: dict[str, float | int | None]
    scored_at: datetime
    build_id: str

    @classmethod
    def from_store(cls, row: CustomerRisk) -> RiskPublic:
        """From a serving row."""
        fields = row.model_dump(exclude={"reasons", "features"})
        return cls(**fields, reasons=json.loads(row.reasons), features=json.loads(row.features))


class QueueItem(BaseModel):
    """A customer in the review queue with its top reasons."""

    model_config = ConfigDict(json_schema_extra={"examples": [{**RISK_EXAMPLE_BRIEF}]})

    customer_id: str
    score: int
    reasons: list[RiskReason]
    scored_at: datetime


@router.get(
    "/customers/{customer_id}/risk",
    response_model=RiskPublic,
    responses={**ERRORS, 404: {"model": ProblemPublic, "description": "no such customer, or not scored yet"}},
)
def get_customer_risk(customer_id: CustomerId, session: SessionDep, _caller: RiskReader) -> RiskPublic:
    """The customer's latest risk score (0-100) with each reason's contribution and every feature's value."""
    service.get(session, customer_id=customer_id)
    return RiskPublic.from_store(risk.get(session, customer_id=customer_id))


@router.get("/risk/customers", response_model=Page[QueueItem], responses=ERRORS)
def list_risky_customers(
    session: SessionDep,
    _caller: RiskReader,
    min_score: Annotated[int, Query(ge=0, le=100, description="only customers scoring at least this")] = 50,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[QueueItem]:
    """The fraud review queue: customers at or above `min_score`, highest score first."""
    after = None
    if cursor is not None:
        score, customer_id = decode(cursor, 2)
        if not (score.isascii() and score.isdecimal()):
            raise InvalidInputError("cursor: not a cursor this API gave")
        after = (int(score), customer_id)
    rows = risk.list_queue(session, min_score=min_score, after=after, limit=limit)
    last = rows[-1] if len(rows) == limit else None
    data = [
        QueueItem(
            customer_id=r.customer_id, score=r.score, reasons=json.loads(r.reasons)[:TOP_REASONS], scored_at=r.scored_at
        )
        for r in rows
    ]
    return Page[QueueItem](data=data, next_cursor=encode(str(last.score), last.customer_id) if last else None)
