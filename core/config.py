"""One typed Settings object, read from `C360_*` environment variables and validated at start-up.

Nested settings use `__`: `C360_CATALOG__URI`, `C360_KAFKA__BOOTSTRAP_SERVERS`. Sub-configs are passed
down as arguments; nothing deeper in the code reads the environment.
"""

from __future__ import annotations

import json
import os
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlparse

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

from core.errors import ConfigurationError

ENV_PREFIX = "C360_"


class Scope(StrEnum):
    """What an API key may do; `pii:read` unmasks personal data."""

    PROFILE_READ = "profile:read"
    PII_READ = "pii:read"
    IDENTITY_WRITE = "identity:write"
    INVENTORY_READ = "inventory:read"
    RISK_READ = "risk:read"
    PRIVACY_ADMIN = "privacy:admin"


class CatalogSettings(BaseModel):
    """Iceberg catalog: a SQL catalog on SQLite (default) or PostgreSQL, or a REST catalog."""

    uri: str | None = Field(None, description="sqlite:///path, postgresql+psycopg://..., or http(s):// for REST")
    name: str = "c360"
    warehouse: str | None = Field(None, description="local directory or s3://bucket/prefix")
    properties: dict[str, str] = Field(default_factory=dict, description="extra pyiceberg catalog properties")

    @field_validator("uri")
    @classmethod
    def _known_scheme(cls, uri: str | None) -> str | None:
        if uri is not None and urlparse(uri).scheme.split("+")[0] not in {
            "sqlite",
            "postgresql",
            "http",
            "https",
        }:
            raise ValueError("must start with sqlite://, postgresql://, postgresql+psycopg://, http:// or https://")
        return uri


class StoreSettings(BaseModel):
    """Operational store (overrides, serving projection): SQLite by default, PostgreSQL by URL."""

    url: str | None = None

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, url: str | None) -> str | None:
        if url is not None and urlparse(url).scheme.split("+")[0] not in {"sqlite", "postgresql"}:
            raise ValueError("must start with sqlite:// or postgresql://")
        return url


class PostgresSourceSettings(BaseModel):
    """The ShopSphere web and till database."""

    url: str | None = None
    batch_size: int = Field(10_000, gt=0)


class MongoSourceSettings(BaseModel):
    """The marketplace order database."""

    url: str | None = None
    database: str = "shopsphere"
    collection: str = "marketplace_orders"
    batch_size: int = Field(5_000, gt=0)


class KafkaSettings(BaseModel):
    """The behavioural event stream and its worker."""

    bootstrap_servers: str | None = Field(None, description="host:port[,host:port]; unset: no stream worker")
    events_topic: str = "shopsphere.events"
    group_id: str = "c360-events"
    dead_letter_topic: str | None = Field(None, description="refused messages are also sent here, with the reason")
    max_batch_seconds: float = Field(2.0, gt=0, le=60, description="a micro-batch commits at the latest after this")
    max_batch_messages: int = Field(100_000, gt=0, description="a micro-batch commits at the latest at this size")
    min_batch_seconds: float = Field(
        0.5, ge=0, le=60, description="a caught-up worker commits a micro-batch once it is this old"
    )
    future_tolerance_seconds: float = Field(300.0, ge=0, description="events stamped further ahead are refused")
    session_timeout_ms: int = Field(6000, ge=1000, description="group session; a join waits about half of it")
    metrics_port: int | None = Field(None, gt=0, lt=65536, description="serve Prometheus /metrics on 127.0.0.1")


class IdentitySettings(BaseModel):
    """Identity resolution knobs."""

    default_region: str = Field("US", min_length=2, max_length=2, description="phone region for numbers without +")
    junk_max_people: int = Field(
        3, ge=2, description="an identifier shared by more distinct people than this is treated as junk"
    )
    match_threshold: float = Field(
        0.99, gt=0, lt=1, description="match probability at or above which two named records are linked"
    )
    per_customer_limits: dict[str, int] = Field(
        default_factory=lambda: {"loyalty_id": 1, "device_id": 3},
        description="most values of an identifier kind one customer holds; more part the customer",
    )

    survivorship: dict[str, Literal["source_priority", "most_recent", "most_frequent"]] = Field(
        default_factory=dict,
        description="golden attribute -> survivorship strategy; the others use source_priority",
    )

    @field_validator("survivorship")
    @classmethod
    def _known_attributes(cls, strategies: dict[str, str]) -> dict[str, str]:
        attributes = {"first_name", "last_name", "email", "phone", "dob", "street", "city", "postcode", "country",
                      "loyalty_id"}  # fmt: skip
        unknown = sorted(set(strategies) - attributes)
        if unknown:
            raise ValueError(f"attributes must be among {sorted(attributes)}; got {unknown}")
        return strategies

    @field_validator("per_customer_limits")
    @classmethod
    def _known_kinds(cls, limits: dict[str, int]) -> dict[str, int]:
        kinds = {"email", "phone", "loyalty_id", "user_id", "device_id", "marketplace_buyer_id"}
        unknown = sorted(set(limits) - kinds)
        if unknown or any(limit < 1 for limit in limits.values()):
            raise ValueError(f"kinds must be among {sorted(kinds)} with limits >= 1; got {limits}")
        return limits


# Each reason code's defaults: `threshold` is where its feature starts to count (for
# CART_TO_PURCHASE_FAST, a time at or under which it counts), `weight` the points it adds there.
# The codes, their features and why each signals fraud are in risk/rules.py and risk/features.py.
RISK_RULE_DEFAULTS: dict[str, dict[str, float]] = {
    "ORDER_VELOCITY_1H": {"threshold": 5, "weight": 50},  # orders within one hour
    "ORDER_VELOCITY_24H": {"threshold": 8, "weight": 30},  # orders within one day
    "NEW_ACCOUNT_HIGH_VALUE": {"threshold": 5, "weight": 50},  # first order / site median, within a day of sign-up
    "VALUE_SPIKE": {"threshold": 5, "weight": 30},  # order / the customer's and the site's median
    "CROSS_CHANNEL_DUPLICATE": {"threshold": 1, "weight": 50},  # marketplace orders repeating a web order
    "CART_TO_PURCHASE_FAST": {"threshold": 2, "weight": 50},  # seconds from add-to-cart to purchase
    "FAILED_LOGINS_THEN_PURCHASE": {"threshold": 3, "weight": 50},  # failed logins in the hour before a purchase
    "SHARED_DEVICE": {"threshold": 3, "weight": 40},  # customers signed in on one device
    "SHARED_IDENTIFIER": {"threshold": 4, "weight": 10},  # customers holding one phone or device
    "IDENTIFIER_BURST": {"threshold": 3, "weight": 40},  # accounts created within an hour on one device
}


class RiskRule(BaseModel):
    """Where one reason code fires and how many points it adds there."""

    threshold: float = Field(gt=0, description="feature value at which the code fires")
    weight: float = Field(ge=0, le=100, description="points at the threshold (0 turns the code off)")


class RiskSettings(BaseModel):
    """Risk scoring knobs: per reason code a threshold and a weight, merged over RISK_RULE_DEFAULTS."""

    rules: dict[str, RiskRule] = Field(
        default_factory=lambda: {code: RiskRule(**values) for code, values in RISK_RULE_DEFAULTS.items()},
        description="reason code -> {threshold, weight}; codes or fields left out keep their defaults",
    )
    severity_cap: float = Field(
        2.0, ge=1, le=10, description="a feature at k times its threshold adds k x its weight, k at most this"
    )

    @field_validator("rules", mode="before")
    @classmethod
    def _over_defaults(cls, given: Any) -> Any:
        """Merge what is set over the defaults, so one variable changes one number."""
        if not isinstance(given, dict):
            return given
        codes = {str(code).upper(): code for code in given}
        if unknown := sorted(code for code in codes if code not in RISK_RULE_DEFAULTS):
            raise ValueError(f"unknown reason code(s) {unknown}; known: {sorted(RISK_RULE_DEFAULTS)}")
        merged: dict[str, Any] = {code: dict(values) for code, values in RISK_RULE_DEFAULTS.items()}
        for code, original in codes.items():
            values = given[original]
            values = values.model_dump() if isinstance(values, BaseModel) else values
            merged[code] = {**merged[code], **values} if isinstance(values, dict) else values
        return merged


class ApiSettings(BaseModel):
    """Where the REST API listens, and how hard one key may call it."""

    host: str = "127.0.0.1"
    port: int = Field(8000, gt=0, lt=65536)
    workers: int = Field(1, ge=1, le=64, description="uvicorn worker processes (one per core serves the most)")
    rate_limit_per_second: float = Field(
        100.0, ge=0, description="sustained requests per second one key may make (per process); 0 turns limits off"
    )
    rate_limit_burst: int = Field(200, ge=1, description="requests a key may make at once before the rate applies")
    key_cache_seconds: float = Field(
        5.0, ge=0, description="how long a process trusts what it read about a key; a revocation takes this long"
    )


class PrivacySettings(BaseModel):
    """Erasure and access requests: how subjects are hashed, and how long erased data may linger."""

    salt: SecretStr | None = Field(
        None,
        description="secret mixed into the hashes of erased subjects' identifiers; without it one is made once "
        "and kept in C360_HOME/privacy.salt (mode 600)",
    )
    sweep_min_age_seconds: float = Field(
        60.0, ge=0, description="files younger than this survive an erasure's sweep: a concurrent commit in flight"
    )
    exports_dir: Path | None = Field(None, description="where access exports are written; C360_HOME/exports by default")
    export_retention_hours: float = Field(
        168.0,
        gt=0,
        description="an access export (the subject's data outside the lake) is deleted this long after it was written",
    )


class Settings(BaseSettings):
    """Every setting of the service; see README.md for the table of variables."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="ignore")

    home: Path = Field(Path(".c360"), description="local state: catalog, warehouse and store by default")
    log_level: str = "INFO"
    catalog: CatalogSettings = Field(default_factory=CatalogSettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    postgres: PostgresSourceSettings = Field(default_factory=PostgresSourceSettings)
    mongo: MongoSourceSettings = Field(default_factory=MongoSourceSettings)
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    identity: IdentitySettings = Field(default_factory=IdentitySettings)
    risk: RiskSettings = Field(default_factory=RiskSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    privacy: PrivacySettings = Field(default_factory=PrivacySettings)

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, level: str) -> str:
        if level.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR")
        return level.upper()

    @model_validator(mode="after")
    def _default_locations(self) -> Settings:
        """Put the catalog, warehouse and store under `home` unless configured elsewhere."""
        home = self.home.expanduser()
        if self.catalog.uri is None:
            self.catalog.uri = f"sqlite:///{home / 'catalog.db'}"
        if self.catalog.warehouse is None:
            self.catalog.warehouse = str(home / "warehouse")
        if self.store.url is None:
            self.store.url = f"sqlite:///{home / 'store.db'}"
        if self.privacy.exports_dir is None:
            self.privacy.exports_dir = home / "exports"
        return self


def env_name(loc: tuple[Any, ...]) -> str:
    """The environment variable behind a validation error location: ('catalog', 'uri') -> C360_CATALOG__URI."""
    return ENV_PREFIX + "__".join(str(part).upper() for part in loc if not isinstance(part, int))


def load_settings(**overrides: Any) -> Settings:
    """Read and validate settings; raise ConfigurationError naming every bad variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(f"{env_name(err['loc'])}: {err['msg']}" for err in exc.errors())
        raise ConfigurationError(f"invalid settings: {problems}") from exc
    except SettingsError as exc:  # a value that is not valid JSON where JSON is expected
        names = ", ".join(_unparsable_json_variables()) or str(exc)
        raise ConfigurationError(f"invalid settings: {names}: not valid JSON") from exc


def _unparsable_json_variables() -> list[str]:
    """The C360_* variables whose values open like JSON but do not parse (named, never echoed)."""
    bad = []
    for name, value in sorted(os.environ.items()):
        if name.startswith(ENV_PREFIX) and value.lstrip()[:1] in ("{", "["):
            try:
                json.loads(value)
            except ValueError:
                bad.append(name)
    return bad
