"""Request and response models of the REST API; personal values are masked without `pii:read`."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from core.masking import mask
from schema.store import CustomerIdentifier, CustomerOrder, CustomerProfile

MASKED_KINDS = frozenset({"email", "phone", "loyalty_id", "device_id", "marketplace_buyer_id"})

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
    "build_id": "20261031T230000-1a2b3c4d",
}


def _money(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(Decimal("0.01"))


class IdentifierPublic(BaseModel):
    """A normalised identifier of the customer."""

    kind: str
    value: str
    rule: str = Field(description="exact:<kind> when it links the customer's records; otherwise why it is shared")


class OrderPublic(BaseModel):
    """An order of any channel."""

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
    event_count: int
    last_event_ts: datetime | None

    @classmethod
    def from_store(cls, profile: CustomerProfile) -> MetricsPublic:
        """From a serving row."""
        channels = {
            channel: ChannelMetrics(
                order_count=getattr(profile, f"{channel}_order_count"),
                value=_money(getattr(profile, f"{channel}_value_cents")),
            )
            for channel in ("web", "pos", "marketplace")
        }
        average = None if profile.average_order_value_cents is None else _money(profile.average_order_value_cents)
        return cls(
            order_count=profile.order_count,
            lifetime_value=_money(profile.lifetime_value_cents),
            average_order_value=average,
            first_order_ts=profile.first_order_ts,
            last_order_ts=profile.last_order_ts,
            channels=channels,
            event_count=profile.event_count,
            last_event_ts=profile.last_event_ts,
        )


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
    build_id: str

    @classmethod
    def from_store(
        cls,
        profile: CustomerProfile,
        identifiers: list[CustomerIdentifier],
        orders: list[CustomerOrder],
        *,
        unmasked: bool,
    ) -> CustomerPublic:
        """Assemble a profile from serving rows, masking personal values unless `unmasked`."""
        personal = {
            "first_name": profile.first_name,
            "last_name": profile.last_name,
            "email": profile.email,
            "phone": profile.phone,
            "street": profile.street,
            "postcode": profile.postcode,
            "loyalty_id": profile.loyalty_id,
        }
        if not unmasked:
            personal = {name: mask(value) for name, value in personal.items()}
        return cls(
            customer_id=profile.customer_id,
            **personal,
            dob=profile.dob if unmasked else None,
            city=profile.city,
            country=profile.country,
            pii_masked=not unmasked,
            lineage=json.loads(profile.lineage or "{}"),
            record_count=profile.record_count,
            first_seen=profile.first_seen,
            last_seen=profile.last_seen,
            identifiers=[
                IdentifierPublic(
                    kind=i.kind,
                    value=i.value if unmasked or i.kind not in MASKED_KINDS else mask(i.value) or "",
                    rule=i.rule,
                )
                for i in identifiers
            ],
            metrics=MetricsPublic.from_store(profile),
            recent_orders=[OrderPublic.from_store(o) for o in orders],
            build_id=profile.build_id,
        )


class CustomersPublic(BaseModel):
    """Customers matching a lookup."""

    data: list[CustomerPublic]
    count: int


class ProblemPublic(BaseModel):
    """An error, as RFC 9457 problem details."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str


class HealthPublic(BaseModel):
    """Liveness or readiness."""

    status: str
    checks: dict[str, str] = Field(default_factory=dict)
