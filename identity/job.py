"""The identity job: conformed tables in; `gold.customers`, `gold.identity_links`, `gold.identity_evidence`
and the id change log out."""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypedDict

import polars as pl
import pyarrow as pa

from core.config import IdentitySettings
from core.errors import NotFoundError
from identity.constraints import CannotLink
from identity.graph import Node, node_label
from identity.incremental import Declined, attach, merged
from identity.records import device_records, identifiers, order_records, user_records
from identity.resolve import Resolution, renamed, resolve
from identity.stable import carry_over
from identity.state import evidence_frame, record_changes, restore
from lakehouse import write
from lakehouse.lake import Lake
from lakehouse.query import equal_to, read_arrow, read_polars, to_frame
from lakehouse.snapshots import last_property
from schema import lake as tables
from schema.lake import PROP_BUILD_ID, PROP_IDENTITY_CONFIG, PROP_INPUTS

logger = logging.getLogger(__name__)


@dataclass
class IdentityReport:
    """What a resolution run produced."""

    build_id: str
    mode: str  # full, or incremental when new records attached to the last build's customers
    records: int
    customers: int
    links: int
    untrusted_identifiers: int
    id_changes: int = 0


def new_build_id(now: datetime | None = None) -> str:
    """A sortable, unique id for one build of the gold layer."""
    return f"{(now or datetime.now(UTC)):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"


def live_users(versions: pa.Table) -> pa.Table:
    """Every version of the accounts whose current version is not deleted (soft-deleted accounts drop out)."""
    frame = to_frame(versions)
    deleted = frame.filter(pl.col("is_current") & pl.col("deleted_at").is_not_null()).select("user_id")
    return frame.join(deleted, on="user_id", how="anti").to_arrow()


def load_records(lake: Lake, *, default_region: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Identity records and their normalised identifiers from every conformed table."""
    users = live_users(read_arrow(lake.table(tables.USERS)))
    orders = read_arrow(lake.table(tables.ORDERS), row_filter="is_deleted == false")
    stores = read_arrow(lake.table(tables.STORES), columns=("store_id", "country", "updated_at"))
    events = read_arrow(lake.table(tables.EVENTS), columns=("device_id", "user_id", "event_ts"))
    parts = [user_records(users), order_records(orders, stores), device_records(events)]
    records = pl.concat(parts, how="vertical_relaxed")
    return records, identifiers(records, default_region=default_region)


def customer_evidence(lake: Lake, node: Node) -> pl.DataFrame:
    """The evidence rows of the customer holding `node`; NotFoundError when it is in none."""
    table = lake.table(tables.IDENTITY_EVIDENCE)
    if node[0] == "record":
        found = equal_to(edge="record", record_id=node[1])
    else:
        found = equal_to(edge="identifier", target_kind=node[1], target_value=node[2])
    owners = read_polars(table, row_filter=found, columns=("customer_id",))["customer_id"].drop_nulls().unique()
    if owners.is_empty():
        raise NotFoundError(f"{node_label(node)} belongs to no customer of the last identity build")
    return read_polars(table, row_filter=equal_to(customer_id=owners[0]))


def previous_membership(lake: Lake) -> pl.DataFrame:
    """(record_id, customer_id) of the last build, from its record links."""
    links = to_frame(read_arrow(lake.table(tables.IDENTITY_LINKS), row_filter="link_type == 'record'"))
    return links.select(pl.concat_str("kind", pl.lit(":"), "value").alias("record_id"), "customer_id")


def run_identity(
    lake: Lake,
    options: IdentitySettings,
    *,
    build_id: str,
    inputs: str = "",
    must_links: Sequence[tuple[str, str]] = (),
    cannot_links: Sequence[CannotLink] = (),
) -> tuple[IdentityReport, Resolution]:
    """Resolve every record and replace the gold identity tables, each commit tagged with the build and its inputs.

    When the last build used the same settings and overrides and the only change is records it has
    not seen, those attach to its customers (see `identity.incremental`); otherwise all is resolved again.
    """
    records, found = load_records(lake, default_region=options.default_region)
    config = identity_config(options, must_links, cannot_links)
    overridden = {record for pair in must_links for record in pair} | {
        record for link in cannot_links for record in (link.left, link.right)
    }
    resolution = _attached(lake, records, found, options, build_id=build_id, config=config, overridden=overridden)
    changes = pl.DataFrame()
    mode = "incremental"
    if resolution is None:
        mode = "full"
        resolution = resolve(
            records,
            found,
            build_id=build_id,
            match_threshold=options.match_threshold,
            must_links=must_links,
            cannot_links=cannot_links,
            **engine_options(options),
        )
        final, changes = carry_over(previous_membership(lake), resolution.membership.select("record_id", "customer_id"))
        resolution = renamed(resolution, final)
    props = {PROP_BUILD_ID: build_id, PROP_INPUTS: inputs}
    if not changes.is_empty():
        stamped = changes.with_columns(
            pl.lit(build_id).alias("build_id"), pl.lit(datetime.now(UTC)).alias("changed_at")
        )
        write.append(lake.table(tables.CUSTOMER_ID_CHANGES), stamped.to_arrow(), properties=props)
    evidence = evidence_frame(resolution, records).with_columns(pl.lit(build_id).alias("build_id"))
    write.replace_all(lake.table(tables.CUSTOMERS), resolution.customers.to_arrow(), properties=props)
    write.replace_all(lake.table(tables.IDENTITY_LINKS), resolution.links.to_arrow(), properties=props)
    write.replace_all(
        lake.table(tables.IDENTITY_EVIDENCE), evidence.to_arrow(), properties={**props, PROP_IDENTITY_CONFIG: config}
    )
    report = IdentityReport(
        build_id=build_id,
        mode=mode,
        records=records["record_id"].n_unique(),
        customers=len(resolution.customers),
        links=len(resolution.links),
        untrusted_identifiers=len(resolution.untrusted),
        id_changes=len(changes),
    )
    logger.info("identity build %s: %s", build_id, report)
    return report, resolution


class EngineOptions(TypedDict):
    """The settings a full resolve and an attach both take."""

    max_people: int
    default_region: str
    limits: Mapping[str, int]
    survivorship: Mapping[str, str]


def engine_options(options: IdentitySettings) -> EngineOptions:
    return EngineOptions(
        max_people=options.junk_max_people,
        default_region=options.default_region,
        limits=options.per_customer_limits,
        survivorship=options.survivorship,
    )


def identity_config(
    options: IdentitySettings, must_links: Sequence[tuple[str, str]], cannot_links: Sequence[CannotLink]
) -> str:
    """A digest of everything besides the records that decides a resolution: settings, overrides, the engine.

    The engine is this package's code: a new release resolves everything again on its first build.
    """
    decided = {
        "engine": _engine_digest(),
        "settings": options.model_dump(mode="json"),
        "must_links": sorted(map(list, must_links)),
        "cannot_links": sorted([c.left, c.right, c.reason] for c in cannot_links),
    }
    return hashlib.sha256(json.dumps(decided, sort_keys=True).encode()).hexdigest()


@functools.cache
def _engine_digest() -> str:
    """A digest of this package's code, read on the first build rather than at import."""
    sources = sorted(Path(__file__).parent.glob("*.py"))
    return hashlib.sha256(b"".join(path.read_bytes() for path in sources)).hexdigest()


def _attached(
    lake: Lake,
    records: pl.DataFrame,
    found: pl.DataFrame,
    options: IdentitySettings,
    *,
    build_id: str,
    config: str,
    overridden: set[str],
) -> Resolution | None:
    """The last build's resolution with the records it has not seen attached; None when only a recompute will do.

    An override naming a record the last build did not hold applies only now: a recompute places it.
    """
    table = lake.table(tables.IDENTITY_EVIDENCE)
    if last_property(table, PROP_IDENTITY_CONFIG) != config:
        return None  # no build yet, or other settings, overrides or engine code
    builds = {last_property(lake.table(t), PROP_BUILD_ID) for t in (tables.CUSTOMERS, tables.IDENTITY_LINKS)}
    if builds != {last_property(table, PROP_BUILD_ID)}:
        return None  # a build stopped between its writes: the tables are not one build's
    evidence = read_polars(table)
    if evidence.is_empty():
        return None  # an older build that kept no evidence
    changes = record_changes(records, evidence)
    if changes is None or not overridden.isdisjoint(changes.new.to_list()):
        return None
    fresh = pl.col("record_id").is_in(changes.new.implode())
    old_records, new_records = records.filter(~fresh), records.filter(fresh)
    old_found, new_found = found.filter(~fresh), found.filter(fresh)
    previous = restore(
        customers=read_polars(lake.table(tables.CUSTOMERS)),
        links=read_polars(lake.table(tables.IDENTITY_LINKS)),
        evidence=evidence,
    )
    attachment = attach(
        previous,
        old_records,
        old_found,
        new_records,
        new_found,
        build_id=build_id,
        seen_again=changes.seen_again.to_list(),
        **engine_options(options),
    )
    if isinstance(attachment, Declined):
        logger.info(
            "identity build %s resolves in full: %d new records, %s", build_id, len(changes.new), attachment.reason
        )
        return None
    if not overridden.isdisjoint(attachment.membership["record_id"].to_list()):
        return None  # an override names a record of no customer that now joins one: a recompute applies it
    return merged(previous, attachment, old_records, old_found, new_records, new_found, build_id=build_id)
