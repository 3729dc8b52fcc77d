"""Request and response models of the REST API; personal values are masked without `pii:read`."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from core.masking import mask, mask_url
from schema.lake import USER_TRACKED_ATTRIBUTES
from schema.store import CustomerEvent, CustomerOrder, CustomerVersion

PROFILE_EXAMPLE: dict[str, Any] = {
    "customer_id": "C-3f9a0c21d4e5",
    "first_name": "Jane",
    "last_name": "Doe",
    "email": "jane.doe@example.com",
    "phone": "+14155550134",
    "dob": "1988-04-02",
    "street": "12 Market St",
    "city": "San Francisco",
    "postcode": "94105",
    "country": "US",
    "loyalty_id": "LOY-004711",
    "pii_masked": False,
    "lineage": {"email": {"record": "users:1042", "rule": "source_priority_then_most_recent"}},
    "record_count": 7,
    "first_seen": "2025-01-03T10:00:00Z",
    "last_seen": "2026-10-30T18:22:05Z",
    "identifiers": [{"kind": "email", "value": "jane.doe@example.com", "rule": "exact:email"}],
    "metrics": {
        "order_count": 3,
        "lifetime_value": "182.40",
        "average_order_value": "60.80",
        "first_order_ts": "2025-02-11T09:12:00Z",
        "last_order_ts": "2026-10-29T17:40:00Z",
        "channels": {
            "web": {"order_count": 1, "value": "45.10"},
            "pos": {"order_count": 1, "value": "99.90"},
            "marketplace": {"order_count": 1, "value": "37.40"},
        },
        "platforms": {
            "amazon": {"order_count": 1, "value": "37.40"},
            "shopsphere": {"order_count": 2, "value": "145.00"},
        },
        "event_count": 42,
        "last_event_ts": "2026-10-30T18:22:05Z",
    },
    "recent_orders": [
        {
            "order_id": "amazon:114-3941689-8772232",
            "source": "marketplace",
            "platform": "amazon",
            "status": "Shipped",
            "currency": "USD",
            "total_amount": "37.40",
            "item_count": 1,
            "store_id": None,
            "order_ts": "2026-10-29T17:40:00Z",
        }
    ],
    "recent_events": [
        {
            "event_id": "4f152efa-1044-48ad-f68a-39bd4223d538",
            "event_type": "add_to_cart",
            "event_ts": "2026-10-30T18:22:05Z",
            "session_id": "s-81f0",
            "device_id": "dev-b7ba550a0f4a",
            "product_id": "P-1042",
            "order_id": None,
            "page_url": "/p/P-1042",
        }
    ],
    "household": [{"customer_id": "C-77b0e1d2c3f4", "kind": "email", "value": "thedoes@example.com"}],
    "risk": {
        "score": 12,
        "reasons": [{"code": "ORDER_VELOCITY_24H", "contribution": 12.0, "detail": "3 orders in 24 h"}],
        "scored_at": "2026-10-31T23:00:00Z",
    },
    "build_id": "20261031T230000-1a2b3c4d",
}

VERSION_EXAMPLE: dict[str, Any] = {
    "user_id": 1042, "valid_from": "2025-01-03T10:00:00Z", "valid_to": "2026-02-11T09:12:00Z",
    "email": "jane.doe@example.com", "phone": "+14155550134", "first_name": "Jane", "last_name": "Doe",
    "loyalty_id": "LOY-004711",
}  # fmt: skip


def _money(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(Decimal("0.01"))


class IdentifierPublic(BaseModel):
    """A normalised identifier of the customer."""

    kind: str
    value: str
    rule: str = Field(description="exact:<kind> when it links the customer's records; otherwise why it is shared")


class OrderPublic(BaseModel):
    """An order of any channel."""

    model_config = ConfigDict(json_schema_extra={"examples": [PROFILE_EXAMPLE["recent_orders"][0]]})

    order_id: str
    source: str = Field(description="web, pos or marketplace")
    platform: str = Field(description="shopsphere, amazon, ebay or walmart")
    status: str | None
    currency: str | None
    total_amount: Decimal
    item_count: int | None
    store_id: str | None
    order_ts: datetime

    @classmethod
    def from_store(cls, order: CustomerOrder) -> OrderPublic:
        """From a serving row."""
        return cls(**order.model_dump(exclude={"customer_id", "total_cents"}), total_amount=_money(order.total_cents))


class EventPublic(BaseModel):
    """A behavioural event (without `pii:read`: device masked, page address without its query)."""

    model_config = ConfigDict(json_schema_extra={"examples": [PROFILE_EXAMPLE["recent_events"][0]]})

    event_id: str
    event_type: str
    event_ts: datetime
    session_id: str | None
    device_id: str | None
    product_id: str | None
    order_id: int | None
    page_url: str | None

    @classmethod
    def from_store(cls, event: CustomerEvent, *, unmasked: bool) -> EventPublic:
        """From a serving row."""
        fields = event.model_dump(exclude={"customer_id"})
        if not unmasked:
            fields |= {"device_id": mask(event.device_id), "page_url": mask_url(event.page_url)}
        return cls(**fields)


class VersionPublic(BaseModel):
    """One SCD Type 2 version of an account: its tracked attributes while they held."""

    model_config = ConfigDict(json_schema_extra={"examples": [VERSION_EXAMPLE]})

    user_id: int
    valid_from: datetime
    valid_to: datetime | None = Field(description="when the next version opened; null while current")
    email: str | None
    phone: str | None
    first_name: str | None
    last_name: str | None
    loyalty_id: str | None

    @classmethod
    def from_store(cls, version: CustomerVersion, *, unmasked: bool) -> VersionPublic:
        """From a serving row, personal values masked unless `unmasked`."""
        fields = version.model_dump(exclude={"id", "customer_id"})
        if not unmasked:
            fields |= {name: mask(fields[name]) for name in USER_TRACKED_ATTRIBUTES}
        return cls(**fields)


class HistoryPublic(BaseModel):
    """A customer's account history and, with `as_of`, the account attributes that held then."""

    customer_id: str
    as_of: datetime | None
    as_of_version: VersionPublic | None = Field(
        description="the account version in force at as_of (the most recently changed account's)"
    )
    versions: list[VersionPublic]


class HouseholdLink(BaseModel):
    """Another customer sharing a family e-mail or phone: linked as a household, not merged."""

    customer_id: str
    kind: str
    value: str


class ChannelMetrics(BaseModel):
    """Orders and value in one channel."""

    order_count: int
    value: Decimal


class MetricsPublic(BaseModel):
    """Order and activity metrics."""

    order_count: int
    lifetime_value: Decimal
    average_order_value: Decimal | None
    first_order_ts: datetime | None
    last_order_ts: datetime | None
    channels: dict[str, ChannelMetrics]
    platforms: dict[str, ChannelMetrics] = Field(description="shopsphere (web and tills), amazon, ebay, walmart")
    event_count: int
    last_event_ts: datetime | None


class RiskReason(BaseModel):
    """One reason behind a risk score and the points it added."""

    code: str
    contribution: float
    detail: str = ""


class RiskSummary(BaseModel):
    """A customer's latest risk score (0-100) with its top reasons."""

    score: int = Field(ge=0, le=100)
    reasons: list[RiskReason]
    scored_at: datetime


class AttributeLineage(BaseModel):
    """Where a golden value came from."""

    record: str
    rule: str


class CustomerPublic(BaseModel):
    """A Customer 360 profile."""

    model_config = ConfigDict(json_schema_extra={"examples": [PROFILE_EXAMPLE]})

    customer_id: str
    first_name: str | None
    last_name: str | None
    email: str | None
    phone: str | None
    dob: date | None
    street: str | None
    city: str | None
    postcode: str | None
    country: str | None
    loyalty_id: str | None
    pii_masked: bool = Field(description="true when personal values are masked (the key lacks pii:read)")
    lineage: dict[str, AttributeLineage]
    record_count: int
    first_seen: datetime | None
    last_seen: datetime | None
    identifiers: list[IdentifierPublic]
    metrics: MetricsPublic
    recent_orders: list[OrderPublic]
    recent_events: list[EventPublic]
    household: list[HouseholdLink] = Field(description="customers sharing a family e-mail or phone")
    risk: RiskSummary | None = Field(description="the latest risk score and its top reasons (risk:read only)")
    build_id: str


class CustomersPublic(BaseModel):
    """Customers matching a lookup."""

    data: list[CustomerPublic]
    count: int


class FieldProblem(BaseModel):
    """What is wrong with one parameter or body field."""

    field: str = Field(examples=["query.since"])
    message: str


class ProblemPublic(BaseModel):
    """An error, as RFC 9457 problem details (a 422 adds its fields, a split customer id its current ids)."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    candidates: list[str] | None = Field(None, description="300 only: the customers a split id's records are in")
    locations: list[str] | None = Field(None, description="300 only: the same resource of each candidate")
    errors: list[FieldProblem] | None = Field(None, description="422 on bad parameters: one entry per field")


class HealthPublic(BaseModel):
    """Liveness or readiness."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"status": "ok", "checks": {"catalog": "ok", "store": "ok"}}]}
    )

    status: str
    checks: dict[str, str] = Field(default_factory=dict)


def error_responses(scope: str) -> dict[int | str, dict[str, Any]]:
    """The error responses every authenticated operation documents, for an operation needing `scope`."""
    return {
        401: {"model": ProblemPublic, "description": "missing, unknown or revoked API key"},
        403: {"model": ProblemPublic, "description": f"the key lacks the {scope} scope"},
        422: {"model": ProblemPublic, "description": "invalid input"},
        429: {"model": ProblemPublic, "description": "rate limit exceeded; see Retry-After"},
    }
