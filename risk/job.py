"""The risk job: read what the features need from the lake, score every customer, append to `gold.risk_scores`."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime

import polars as pl

from core.config import RiskSettings
from core.errors import NotFoundError
from identity.attribution import attribute_events, customer_orders
from identity.normalize import normalize_device_id
from identity.records import map_distinct
from lakehouse import write
from lakehouse.lake import Lake
from lakehouse.query import read_polars
from lakehouse.snapshots import last_property
from risk.features import BEHAVIOUR_EVENTS, RiskFrames, customer_features, site_medians
from risk.score import REVIEW_SCORE, score, stamped
from schema import lake as tables
from schema.lake import PROP_BUILD_ID, PROP_INPUTS, PROP_RISK_CONFIG

logger = logging.getLogger(__name__)

ORDER_COLUMNS = ("order_id", "source", "user_id", "currency", "total_amount", "order_ts")
EVENT_COLUMNS = ("event_type", "event_ts", "device_id", "user_id", "session_id", "login_success")
LINK_COLUMNS = ("customer_id", "link_type", "kind", "value", "rule")
# Links the features read: order and account records, the identifiers events are attributed by, phones.
LINK_KINDS = ("orders", "users", "user_id", "device_id", "phone")
SHARED_KINDS = ("phone", "device_id")  # identifiers whose holders SHARED_IDENTIFIER counts


@dataclass
class RiskReport:
    """What one scoring wrote."""

    build_id: str
    customers: int
    flagged: int  # customers at REVIEW_SCORE or more
    scored_at: datetime


def _quoted(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{value}'" for value in values)


@dataclass(frozen=True)
class RiskInputs:
    """The lake's rows the features are computed from, as read (before attribution)."""

    customers: pl.DataFrame  # customer_id
    links: pl.DataFrame  # LINK_COLUMNS of LINK_KINDS
    orders: pl.DataFrame  # ORDER_COLUMNS, deleted orders left out
    events: pl.DataFrame  # EVENT_COLUMNS of BEHAVIOUR_EVENTS
    signed_in: pl.DataFrame  # device_id, user_id: every account seen signed in on each device
    users: pl.DataFrame  # user_id, created_at of current account versions
    kiosks: pl.Series  # store kiosk device ids, as the stores table holds them


def read_inputs(lake: Lake) -> RiskInputs:
    """Every customer's orders, events, accounts, devices and shared identifiers, columns projected."""
    links = read_polars(
        lake.table(tables.IDENTITY_LINKS), row_filter=f"kind in ({_quoted(LINK_KINDS)})", columns=LINK_COLUMNS
    )
    # 1. one scan of the events for both needs: behaviour the features time, and who signed in where
    behaviour = f"event_type in ({_quoted(BEHAVIOUR_EVENTS)})"
    signed_in = "device_id is not null and user_id is not null"
    events = read_polars(lake.table(tables.EVENTS), row_filter=f"{behaviour} or ({signed_in})", columns=EVENT_COLUMNS)
    events = events.rechunk()  # one chunk per day file otherwise: attributing 700 chunks took 2.7 s, one 0.1 s
    # 2. the rest, each projected to the columns the features read
    return RiskInputs(
        customers=read_polars(lake.table(tables.CUSTOMERS), columns=("customer_id",)),
        links=links,
        orders=read_polars(lake.table(tables.ORDERS), row_filter="is_deleted == false", columns=ORDER_COLUMNS),
        events=behaviour_events(events),
        signed_in=signed_in_pairs(events),
        users=read_polars(lake.table(tables.USERS), row_filter="is_current == true", columns=("user_id", "created_at")),
        kiosks=read_polars(lake.table(tables.STORES), columns=("kiosk_device_id",))["kiosk_device_id"],
    )


def read_frames(lake: Lake) -> RiskFrames:
    """What the features read, from the lake as it stands."""
    return frames_from(read_inputs(lake))


def behaviour_events(events: pl.DataFrame) -> pl.DataFrame:
    """The events the features time, projected to EVENT_COLUMNS."""
    return events.filter(pl.col("event_type").is_in(BEHAVIOUR_EVENTS)).select(EVENT_COLUMNS)


def signed_in_pairs(events: pl.DataFrame) -> pl.DataFrame:
    """Each (device, account) the events show signed in together, once."""
    named = events.filter(pl.col("device_id").is_not_null() & pl.col("user_id").is_not_null())
    return named.select("device_id", "user_id").unique()


def kiosk_ids(kiosks: pl.Series) -> pl.Series:
    """Store kiosk device ids, normalised: everyone signs in on those, so they tie no one together."""
    return map_distinct(kiosks, normalize_device_id).drop_nulls()


def device_accounts(signed_in: pl.DataFrame, kiosks: pl.Series) -> pl.DataFrame:
    """Signed-in (device, account) pairs with normalised device ids, kiosks (`kiosk_ids`) left out."""
    devices = signed_in.with_columns(map_distinct(signed_in["device_id"], normalize_device_id).alias("device_id"))
    return devices.filter(~pl.col("device_id").is_in(kiosks.implode())).unique()


def frames_from(inputs: RiskInputs) -> RiskFrames:
    """Attribute orders and events to customers and set store kiosks aside."""
    records = inputs.links.filter(pl.col("link_type") == "record")
    identifiers = inputs.links.filter(pl.col("link_type") == "identifier")
    kiosks = kiosk_ids(inputs.kiosks)
    account_owners = records.filter(pl.col("kind") == "users").select(
        pl.col("value").cast(pl.Int64, strict=False).alias("user_id"), "customer_id"
    )
    shared = identifiers.filter(pl.col("kind").is_in(SHARED_KINDS) & ~pl.col("value").is_in(kiosks.implode()))
    return RiskFrames(
        customers=inputs.customers,
        orders=customer_orders(inputs.orders, records),
        events=attribute_events(inputs.events, identifiers),
        device_accounts=device_accounts(inputs.signed_in, kiosks),
        accounts=inputs.users.join(account_owners, on="user_id"),
        identifiers=shared.select("customer_id", "kind", "value"),
    )


def rescore(frames: RiskFrames, customer_ids: list[str], settings: RiskSettings, medians: pl.DataFrame) -> pl.DataFrame:
    """Scores of just these customers, e.g. after new events (the stream worker's path).

    Their own orders and events are enough; devices, accounts and identifiers must be everyone's,
    since those features count the other customers sharing them. `medians` are the last batch
    scoring's (`PROP_RISK_CONFIG`), so a rescored customer is measured as everyone was.
    """
    wanted = pl.col("customer_id").is_in(pl.Series(customer_ids, dtype=pl.String).implode())
    theirs = RiskFrames(
        customers=frames.customers.filter(wanted),
        orders=frames.orders.filter(wanted),
        events=frames.events.filter(wanted),
        device_accounts=frames.device_accounts,
        accounts=frames.accounts,
        identifiers=frames.identifiers,
    )
    return score(customer_features(theirs, medians), settings)


def run_risk(lake: Lake, settings: RiskSettings, *, build_id: str, now: datetime, inputs: str = "") -> RiskReport:
    """Score every customer of the current gold build and append the rows (history is kept), tagged like the build."""
    frames = read_frames(lake)
    medians = site_medians(frames.orders)
    scores = score(customer_features(frames, medians), settings)
    config = {"settings": settings.model_dump(mode="json"), "site_medians": dict(medians.sort("currency").rows())}
    props = {PROP_BUILD_ID: build_id, PROP_INPUTS: inputs, PROP_RISK_CONFIG: json.dumps(config, sort_keys=True)}
    rows = stamped(scores, build_id=build_id, scored_at=now)
    write.append(lake.table(tables.RISK_SCORES), rows.to_arrow(), properties=props)
    report = RiskReport(build_id, len(scores), int((scores["score"] >= REVIEW_SCORE).sum()), now)
    logger.info("risk scoring of build %s: %s", build_id, report)
    return report


def score_current_build(lake: Lake, settings: RiskSettings, *, now: datetime) -> RiskReport:
    """Score the last gold build's customers again (new weights, say) as that build: the gold layer stays current."""
    customers = lake.table(tables.CUSTOMERS)
    build_id = last_property(customers, PROP_BUILD_ID)
    if build_id is None:
        raise NotFoundError("no gold build to score yet: run `c360 build` (or `c360 run`) first")
    return run_risk(lake, settings, build_id=build_id, now=now, inputs=last_property(customers, PROP_INPUTS) or "")
