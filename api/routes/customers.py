"""Customer 360 profiles, lookup by identifier, and each customer's orders and events."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, HTTPException, Path, Query, Request, Response
from pydantic import AwareDatetime

from api.auth import Caller
from api.deps import SECURED, ProfileReader, SessionDep, authorize
from api.models import (
    CustomerPublic,
    CustomersPublic,
    EventPublic,
    HistoryPublic,
    OrderPublic,
    ProblemPublic,
    VersionPublic,
    error_responses,
)
from api.pagination import Cursor, Limit, Page, decode_keyset, encode
from api.routing import DirectRoute
from core.config import Scope
from identity.normalize import IdentifierKind
from profiles import service
from profiles.document import mask_document, with_risk
from profiles.service import Documents
from schema.store import CustomerVersion

router = APIRouter(prefix="/v1/customers", tags=["customers"])
# the profile and the lookup: the hottest routes, served without FastAPI's parameter solving (api.routing)
hot_router = APIRouter(prefix="/v1/customers", tags=["customers"], route_class=DirectRoute)
ERRORS = error_responses("profile:read")
ONE_CUSTOMER: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    300: {"model": ProblemPublic, "description": "the id was split: `candidates` lists the current ids"},
    308: {"description": "the id was merged into another customer: follow Location"},
    404: {"model": ProblemPublic, "description": "no such customer"},
}
RECENT = 10
CustomerId = Annotated[str, Path(max_length=32, examples=["C-3f9a0c21d4e5"])]
Since = Annotated[AwareDatetime | None, Query(description="from this time on (inclusive), with a UTC offset")]
Until = Annotated[AwareDatetime | None, Query(description="before this time (exclusive), with a UTC offset")]


@hot_router.get(
    "/{customer_id}",
    response_model=CustomerPublic,
    responses={**ONE_CUSTOMER, 304: {"description": "unchanged since the ETag sent in If-None-Match"}},
    openapi_extra=SECURED,
)
async def get_customer(customer_id: CustomerId, request: Request) -> Response:
    """The Customer 360 profile: golden attributes with lineage, identifiers, metrics, recent orders and events.

    Answers carry an ETag; send it back in If-None-Match to get 304 while the profile is unchanged.
    """
    caller = await authorize(request, Scope.PROFILE_READ)
    documents = _documents(request)
    body = _body(documents, customer_id, documents.get(customer_id=customer_id), caller)
    etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    headers = {"ETag": etag, "Cache-Control": "private, no-cache", "Vary": "X-API-Key"}
    if _matches(request.headers.get("if-none-match", ""), etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


@hot_router.get("", response_model=CustomersPublic, responses=ERRORS, openapi_extra=SECURED)
async def lookup_customers(
    request: Request,
    email: Annotated[str | None, Query(max_length=320)] = None,
    phone: Annotated[str | None, Query(max_length=64)] = None,
    loyalty_id: Annotated[str | None, Query(max_length=64)] = None,
    user_id: Annotated[str | None, Query(max_length=32)] = None,
    device_id: Annotated[str | None, Query(max_length=128)] = None,
    marketplace_buyer_id: Annotated[str | None, Query(max_length=320)] = None,
) -> Response:
    """Find the customers an identifier leads to; values are normalised exactly as at ingestion.

    Usually one customer; an identifier shared by a household leads to each member.
    """
    caller = await authorize(request, Scope.PROFILE_READ)
    candidates: list[tuple[IdentifierKind, str | None]] = [
        ("email", email),
        ("phone", phone),
        ("loyalty_id", loyalty_id),
        ("user_id", user_id),
        ("device_id", device_id),
        ("marketplace_buyer_id", marketplace_buyer_id),
    ]
    given = {kind: value for kind, value in candidates if value is not None}
    if len(given) != 1:
        raise HTTPException(
            422, "give exactly one of email, phone, loyalty_id, user_id, device_id, marketplace_buyer_id"
        )
    [(kind, value)] = given.items()
    documents, region = _documents(request), request.app.state.settings.identity.default_region
    found = documents.list_by_identifier(kind=kind, value=value, default_region=region)
    data = [orjson.Fragment(_body(documents, c, d, caller)) for c, d in found]
    return Response(orjson.dumps({"data": data, "count": len(data)}), media_type="application/json")


def _documents(request: Request) -> Documents:
    """The app's profile documents, taken from its state rather than as a dependency: on the two hottest
    routes each dependency FastAPI solves costs about 30 µs, a tenth of the request."""
    documents: Documents = request.app.state.documents
    return documents


def _body(documents: Documents, customer_id: str, document: str, caller: Caller) -> bytes:
    """A stored document as this caller may see it: its risk summary only with risk:read, personal
    values masked without pii:read (parsed and re-encoded; otherwise sent as rendered)."""
    if caller.can(Scope.RISK_READ) and (risk := documents.risk(customer_id=customer_id)) is not None:
        document = with_risk(document, risk)
    if caller.can(Scope.PII_READ):
        return document.encode()
    return orjson.dumps(mask_document(orjson.loads(document)))


@router.get("/{customer_id}/orders", response_model=Page[OrderPublic], responses=ONE_CUSTOMER)
def list_customer_orders(
    customer_id: CustomerId,
    session: SessionDep,
    _caller: ProfileReader,
    source: Annotated[Literal["web", "pos", "marketplace"] | None, Query(description="one channel only")] = None,
    since: Since = None,
    until: Until = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[OrderPublic]:
    """The customer's orders of every channel, newest first, a page at a time."""
    service.get(session, customer_id=customer_id)
    orders = service.list_orders(
        session, customer_id=customer_id, source=source, since=since, until=until, after=decode_keyset(cursor),
        limit=limit,
    )  # fmt: skip
    last = orders[-1] if len(orders) == limit else None
    return Page[OrderPublic](
        data=[OrderPublic.from_store(o) for o in orders],
        next_cursor=encode(last.order_ts.isoformat(), last.order_id) if last else None,
    )


@router.get("/{customer_id}/events", response_model=Page[EventPublic], responses=ONE_CUSTOMER)
def list_customer_events(
    customer_id: CustomerId,
    session: SessionDep,
    caller: ProfileReader,
    event_type: Annotated[str | None, Query(alias="type", max_length=32, examples=["add_to_cart"])] = None,
    since: Since = None,
    until: Until = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[EventPublic]:
    """The customer's behavioural events, newest first, a page at a time."""
    service.get(session, customer_id=customer_id)
    events = service.list_events(
        session, customer_id=customer_id, event_type=event_type, since=since, until=until,
        after=decode_keyset(cursor), limit=limit,
    )  # fmt: skip
    last = events[-1] if len(events) == limit else None
    return Page[EventPublic](
        data=[EventPublic.from_store(e, unmasked=caller.can(Scope.PII_READ)) for e in events],
        next_cursor=encode(last.event_ts.isoformat(), last.event_id) if last else None,
    )


@router.get("/{customer_id}/history", response_model=HistoryPublic, responses=ONE_CUSTOMER)
def get_customer_history(
    customer_id: CustomerId,
    session: SessionDep,
    caller: ProfileReader,
    as_of: Annotated[AwareDatetime | None, Query(description="the attributes in force at this time")] = None,
) -> HistoryPublic:
    """Every SCD2 version of the customer's accounts, oldest first, and the one in force `as_of`."""
    service.get(session, customer_id=customer_id)
    versions = service.list_versions(session, customer_id=customer_id)
    unmasked = caller.can(Scope.PII_READ)
    chosen = _in_force(versions, as_of) if as_of is not None else None
    return HistoryPublic(
        customer_id=customer_id,
        as_of=as_of,
        as_of_version=VersionPublic.from_store(chosen, unmasked=unmasked) if chosen else None,
        versions=[VersionPublic.from_store(v, unmasked=unmasked) for v in versions],
    )


def _in_force(versions: list[CustomerVersion], at: datetime) -> CustomerVersion | None:
    """Of the versions holding at `at`, the one opened last (the account changed most recently)."""
    held = [v for v in versions if v.valid_from <= at and (v.valid_to is None or v.valid_to > at)]
    return max(held, key=lambda v: v.valid_from, default=None)


def _matches(if_none_match: str, etag: str) -> bool:
    """If-None-Match's weak comparison (RFC 9110 13.1.2): `*`, or any listed tag with or without W/."""
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in tags or etag in tags
