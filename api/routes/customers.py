"""Customer 360 profiles and lookup by identifier."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query

from api.deps import ProfileReader, SessionDep, SettingsDep
from api.models import CustomerPublic, CustomersPublic, ProblemPublic
from core.config import Scope
from identity.normalize import IdentifierKind
from profiles import service
from schema.store import CustomerProfile

router = APIRouter(prefix="/v1/customers", tags=["customers"])
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ProblemPublic, "description": "missing or unknown API key"},
    403: {"model": ProblemPublic, "description": "the key lacks the profile:read scope"},
    422: {"model": ProblemPublic, "description": "invalid input"},
}
RECENT_ORDERS = 10


def _assemble(session: SessionDep, profile: CustomerProfile, *, unmasked: bool) -> CustomerPublic:
    identifiers = service.list_identifiers(session, customer_id=profile.customer_id)
    orders = service.list_recent_orders(session, customer_id=profile.customer_id, limit=RECENT_ORDERS)
    return CustomerPublic.from_store(profile, identifiers, orders, unmasked=unmasked)


@router.get(
    "/{customer_id}",
    response_model=CustomerPublic,
    responses={**ERRORS, 404: {"model": ProblemPublic, "description": "no such customer"}},
)
def get_customer(
    customer_id: Annotated[str, Path(max_length=32, examples=["C-3f9a0c21d4e5"])],
    session: SessionDep,
    caller: ProfileReader,
) -> CustomerPublic:
    """The Customer 360 profile: golden attributes with lineage, identifiers, metrics, recent orders."""
    profile = service.get(session, customer_id=customer_id)
    return _assemble(session, profile, unmasked=caller.can(Scope.PII_READ))


@router.get("", response_model=CustomersPublic, responses=ERRORS)
def lookup_customers(
    session: SessionDep,
    settings: SettingsDep,
    caller: ProfileReader,
    email: Annotated[str | None, Query(max_length=320)] = None,
    phone: Annotated[str | None, Query(max_length=64)] = None,
    loyalty_id: Annotated[str | None, Query(max_length=64)] = None,
    user_id: Annotated[str | None, Query(max_length=32)] = None,
    device_id: Annotated[str | None, Query(max_length=128)] = None,
    marketplace_buyer_id: Annotated[str | None, Query(max_length=320)] = None,
) -> CustomersPublic:
    """Find the customers an identifier leads to; values are normalised exactly as at ingestion.

    Usually one customer; an identifier shared by a household leads to each member.
    """
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
    region = settings.identity.default_region
    profiles = service.list_by_identifier(session, kind=kind, value=value, default_region=region)
    data = [_assemble(session, profile, unmasked=caller.can(Scope.PII_READ)) for profile in profiles]
    return CustomersPublic(data=data, count=len(data))
