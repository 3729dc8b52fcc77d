"""Tables of the operational store (SQLite by default, PostgreSQL by URL), as SQLModel classes.

The serving tables are a projection of the gold layer that the API reads: point lookups by
customer id or identifier never touch Iceberg. Money is kept in integer cents and times in UTC,
so SQLite and PostgreSQL store the same values.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Index, Text, TypeDecorator, UniqueConstraint
from sqlalchemy.engine import Dialect
from sqlmodel import Field, SQLModel


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps stored as naive UTC and read back as aware UTC, on every backend."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def _utc(nullable: bool = True) -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable)


def _cents() -> Any:
    return Field(default=0, sa_type=BigInteger, description="money in integer cents")


class ServingBuildBase(SQLModel):
    """One projection of the gold layer into the store."""

    build_id: str = Field(primary_key=True, max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime)
    customers: int = 0
    identifiers: int = 0
    orders: int = 0


class ServingBuild(ServingBuildBase, table=True):
    """The build the serving tables hold (one row: a projection replaces it)."""

    __tablename__ = "serving_builds"


class CustomerProfileBase(SQLModel):
    """Golden attributes and metrics of one customer."""

    customer_id: str = Field(primary_key=True, max_length=32)
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    dob: date | None = None
    street: str | None = None
    city: str | None = None
    postcode: str | None = None
    country: str | None = None
    loyalty_id: str | None = None
    lineage: str | None = Field(default=None, description="JSON: attribute -> source record and rule")
    record_count: int = 0
    first_seen: datetime | None = _utc()
    last_seen: datetime | None = _utc()
    order_count: int = 0
    lifetime_value_cents: int = _cents()
    average_order_value_cents: int | None = Field(default=None, sa_type=BigInteger, description="rounded half up")
    web_order_count: int = 0
    web_value_cents: int = _cents()
    pos_order_count: int = 0
    pos_value_cents: int = _cents()
    marketplace_order_count: int = 0
    marketplace_value_cents: int = _cents()
    first_order_ts: datetime | None = _utc()
    last_order_ts: datetime | None = _utc()
    event_count: int = 0
    last_event_ts: datetime | None = _utc()
    build_id: str = Field(max_length=64)
    document: str | None = Field(
        default=None, sa_type=Text, description="the profile as the API sends it (unmasked JSON), rendered per build"
    )


class CustomerProfile(CustomerProfileBase, table=True):
    """Serving row per customer."""

    __tablename__ = "serving_customers"


class CustomerIdentifierBase(SQLModel):
    """A normalised identifier that leads to a customer (a shared one, to each customer sharing it)."""

    kind: str = Field(max_length=32)
    value: str = Field(max_length=320)
    customer_id: str = Field(max_length=32, index=True)
    rule: str = Field(max_length=64, description="exact:<kind>, or why the identifier is shared")


class CustomerIdentifier(CustomerIdentifierBase, table=True):
    """Serving index for lookups by e-mail, phone, loyalty id, user id, device or marketplace buyer."""

    __tablename__ = "serving_identifiers"
    __table_args__ = (
        UniqueConstraint("kind", "value", "customer_id", name="uq_serving_identifiers_kind_value_customer"),
        Index("ix_serving_identifiers_kind_value", "kind", "value"),
    )

    id: int | None = Field(default=None, primary_key=True)


class CustomerOrderBase(SQLModel):
    """An order as the profile shows it."""

    order_id: str = Field(primary_key=True, max_length=96)
    customer_id: str = Field(max_length=32)
    source: str = Field(max_length=16)
    platform: str = Field(max_length=16)
    status: str | None = None
    currency: str | None = Field(default=None, max_length=3)
    total_cents: int = _cents()
    item_count: int | None = None
    store_id: str | None = None
    order_ts: datetime = Field(sa_type=UTCDateTime)


class CustomerOrder(CustomerOrderBase, table=True):
    """Serving rows of every order attributed to a customer."""

    __tablename__ = "serving_orders"
    __table_args__ = (Index("ix_serving_orders_customer_ts", "customer_id", "order_ts"),)


class IdentityOverrideBase(SQLModel):
    """A person's decision about two records, applied on every identity build."""

    rule: str = Field(max_length=16, description="must_link or cannot_link")
    left_record: str = Field(max_length=200, description="record id, e.g. users:42 or orders:web:100731")
    right_record: str = Field(max_length=200)
    reason: str = Field(default="", max_length=500)
    created_at: datetime = Field(sa_type=UTCDateTime)


class IdentityOverride(IdentityOverrideBase, table=True):
    """Manual must-link and cannot-link decisions (the identity build reads them all)."""

    __tablename__ = "identity_overrides"
    __table_args__ = (UniqueConstraint("rule", "left_record", "right_record", name="uq_identity_overrides_rule_pair"),)

    id: int | None = Field(default=None, primary_key=True)


class ApiKeyBase(SQLModel):
    """An API key as shown to operators: never the key itself, only its first characters."""

    name: str = Field(max_length=100, description="who or what the key is for")
    prefix: str = Field(max_length=16, description="the key's first characters, to recognise it in a list")
    scopes: str = Field(max_length=200, description="space-separated scopes, e.g. 'profile:read pii:read'")
    created_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = _utc()


class ApiKey(ApiKeyBase, table=True):
    """API keys, stored as SHA-256 digests: a leaked store gives no usable key."""

    __tablename__ = "api_keys"

    id: int | None = Field(default=None, primary_key=True)
    key_hash: str = Field(max_length=64, unique=True, description="hex SHA-256 of the key")


class CustomerRedirectBase(SQLModel):
    """Where an id of an earlier build went: the current customer(s) holding its records."""

    old_customer_id: str = Field(max_length=32, primary_key=True)
    new_customer_id: str = Field(max_length=32, primary_key=True)
    change: str = Field(max_length=16, description="merged or split")
    records: int = Field(default=0, sa_type=BigInteger, description="how many of its records are there now")


class CustomerRedirect(CustomerRedirectBase, table=True):
    """Old customer ids resolved to current ones (chains of merges and splits followed to the end)."""

    __tablename__ = "serving_customer_redirects"


class CustomerEventBase(SQLModel):
    """A behavioural event as the profile shows it."""

    event_id: str = Field(primary_key=True, max_length=64)
    customer_id: str = Field(max_length=32)
    event_type: str = Field(max_length=32)
    event_ts: datetime = Field(sa_type=UTCDateTime)
    session_id: str | None = Field(default=None, max_length=64)
    device_id: str | None = Field(default=None, max_length=128)
    product_id: str | None = Field(default=None, max_length=64)
    order_id: int | None = Field(default=None, sa_type=BigInteger)
    page_url: str | None = None


class CustomerEvent(CustomerEventBase, table=True):
    """Serving rows of every event attributed to a customer."""

    __tablename__ = "serving_events"
    __table_args__ = (Index("ix_serving_events_customer_ts", "customer_id", "event_ts"),)


class CustomerVersionBase(SQLModel):
    """One SCD Type 2 version of an account of the customer."""

    customer_id: str = Field(max_length=32)
    user_id: int = Field(sa_type=BigInteger)
    valid_from: datetime = Field(sa_type=UTCDateTime)
    valid_to: datetime | None = _utc()
    email: str | None = None
    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    loyalty_id: str | None = None


class CustomerVersion(CustomerVersionBase, table=True):
    """Serving rows of the account history behind `/customers/{id}/history`."""

    __tablename__ = "serving_customer_versions"
    __table_args__ = (
        UniqueConstraint("user_id", "valid_from", name="uq_serving_customer_versions_user_from"),
        Index("ix_serving_customer_versions_customer", "customer_id", "valid_from"),
    )

    id: int | None = Field(default=None, primary_key=True)


class EvidenceEdgeBase(SQLModel):
    """One edge of a customer's identity graph (a row of `gold.identity_evidence`)."""

    customer_id: str = Field(max_length=32, index=True)
    edge: str = Field(max_length=16, description="record, identifier, match or must_link")
    record_id: str | None = Field(default=None, max_length=200)
    target_kind: str | None = Field(default=None, max_length=32)
    target_value: str | None = None
    probability: float | None = None
    evidence: str | None = None


class EvidenceEdge(EvidenceEdgeBase, table=True):
    """Serving rows of the identity graphs, for `/identity` and `/identity/why`."""

    __tablename__ = "serving_identity_edges"
    __table_args__ = (
        Index("ix_serving_identity_edges_record", "record_id", "edge"),
        Index("ix_serving_identity_edges_target", "target_kind", "target_value", "edge"),
    )

    id: int | None = Field(default=None, primary_key=True)


class StockLevelBase(SQLModel):
    """Stock of one product in one store at one snapshot."""

    product_id: str = Field(max_length=64, primary_key=True)
    store_id: str = Field(max_length=32, primary_key=True)
    snapshot_ts: datetime = Field(sa_type=UTCDateTime, primary_key=True)
    on_hand: int | None = None
    reserved: int | None = None
    available: int | None = None


class StockLevel(StockLevelBase, table=True):
    """Serving rows of every inventory snapshot; the primary key serves "latest or as of" per product."""

    __tablename__ = "serving_stock_levels"
    __table_args__ = (Index("ix_serving_stock_levels_store_ts", "store_id", "snapshot_ts"),)


class CustomerRiskBase(SQLModel):
    """A customer's latest risk score with every reason and feature value behind it."""

    customer_id: str = Field(max_length=32, primary_key=True)
    score: int = Field(ge=0, le=100)
    reasons: str = Field(sa_type=Text, description="JSON list of {code, contribution, detail}, largest first")
    features: str = Field(sa_type=Text, description="JSON object: every feature's value")
    scored_at: datetime = Field(sa_type=UTCDateTime)
    build_id: str = Field(max_length=64)


class CustomerRisk(CustomerRiskBase, table=True):
    """Serving rows of the latest scoring, for profiles, `/customers/{id}/risk` and the review queue."""

    __tablename__ = "serving_risk"
    __table_args__ = (Index("ix_serving_risk_score", "score", "customer_id"),)


# Every table a projection replaces whole; erasure deletes a subject's rows from each keyed by customer.
SERVING_MODELS: tuple[type[SQLModel], ...] = (
    CustomerProfile, CustomerIdentifier, CustomerOrder, CustomerEvent, CustomerVersion, EvidenceEdge, StockLevel,
    CustomerRedirect, CustomerRisk,
)  # fmt: skip


class PrivacyRequestBase(SQLModel):
    """An erasure or access request as its requester sees it: no personal data, only a hash of the subject."""

    kind: str = Field(max_length=16, description="erasure or access")
    status: str = Field(max_length=16, description="received, running, completed or failed")
    subject_hash: str = Field(max_length=64, description="salted hash of the identifier the request names")
    reason: str = Field(default="", max_length=500)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    error: str | None = Field(default=None, max_length=1000, description="why it failed")
    receipt: str | None = Field(default=None, sa_type=Text, description="JSON: per table counts and verification")


class PrivacyRequest(PrivacyRequestBase, table=True):
    """Privacy requests and their progress; `pending` holds what the worker needs until it is done."""

    __tablename__ = "privacy_requests"
    __table_args__ = (Index("ix_privacy_requests_subject", "kind", "subject_hash"),)

    id: str = Field(max_length=32, primary_key=True)
    step: str | None = Field(default=None, max_length=16, description="the last step completed")
    pending: str | None = Field(
        default=None, sa_type=Text, description="the subject as given, then their keys: cleared once done"
    )


class Suppression(SQLModel, table=True):
    """Salted hashes of erased subjects' identifiers: ingestion drops new records carrying one."""

    __tablename__ = "privacy_suppressions"

    kind: str = Field(max_length=32, primary_key=True)
    value_hash: str = Field(max_length=64, primary_key=True)
    request_id: str = Field(max_length=32)
    created_at: datetime = Field(sa_type=UTCDateTime)


class LedgerEntry(SQLModel, table=True):
    """The append-only ledger of completed privacy requests: each entry hashes the one before it."""

    __tablename__ = "privacy_ledger"

    seq: int | None = Field(default=None, primary_key=True)
    request_id: str = Field(max_length=32)
    kind: str = Field(max_length=16)
    subject_hash: str = Field(max_length=64)
    recorded_at: datetime = Field(sa_type=UTCDateTime)
    receipt: str = Field(sa_type=Text)
    previous_hash: str = Field(max_length=64)
    entry_hash: str = Field(max_length=64, unique=True)
