"""A build's identity graph as one frame of edges, and the resolution read back from it.

A full resolution of a million records takes a minute; the next build only needs to know where
the last one put every record and identifier, which matches it kept and which links it cut. The
evidence frame holds exactly that (see `schema.gold.IDENTITY_EVIDENCE`), one row per edge, the
identifiers kept out of the graph, and a digest of every record's content so that a changed
record is told from an unchanged one.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from identity.constraints import CUT_COLUMNS
from identity.graph import identifier_node
from identity.links import Links
from identity.resolve import Resolution

_SCHEMA = {
    "customer_id": pl.String,
    "edge": pl.String,
    "record_id": pl.String,
    "target_kind": pl.String,
    "target_value": pl.String,
    "probability": pl.Float64,
    "evidence": pl.String,
}
EDGE_COLUMNS = tuple(_SCHEMA)


def record_digests(records: pl.DataFrame) -> pl.DataFrame:
    """(record_id, digest, seen_at): a hash of every row a record has (all its versions, whatever their
    order) but their time, and the latest time, apart: a device seen again is the same device."""
    columns = [c for c in records.columns if c != "seen_at"]
    content = pl.concat_str([pl.col(c).cast(pl.String).fill_null("\x00") for c in columns], separator="\x1f")
    hashed = records.select("record_id", content.hash(seed=0).alias("row"), pl.col("seen_at").cast(pl.String))
    digest = pl.col("row").sort().cast(pl.String).str.join("-").hash(seed=0).cast(pl.String)
    return hashed.group_by("record_id").agg(digest.alias("digest"), pl.col("seen_at").max())


@dataclass(frozen=True)
class Changes:
    """How the records differ from those a build resolved: new ones, and unnamed ones seen again since."""

    new: pl.Series
    seen_again: pl.Series


def record_changes(records: pl.DataFrame, evidence: pl.DataFrame) -> Changes | None:
    """What changed since the build behind `evidence`; None when a record it held changed or is gone.

    Only a later time on an unnamed record (a device's new visit) is no change to the graph: its
    customer's golden row is refreshed. A named record's versions order its match columns.
    """
    held = evidence.filter(pl.col("edge") == "record").select(
        "record_id", pl.col("target_value").alias("held"), pl.col("evidence").alias("held_at")
    )
    now = record_digests(records)
    compared = held.join(now, on="record_id", how="left")
    if compared["digest"].is_null().any() or (compared["digest"] != compared["held"]).any():
        return None
    later = compared.filter(pl.col("seen_at").ne_missing(pl.col("held_at")))["record_id"]
    named = records.filter(pl.col("first_name").is_not_null() | pl.col("last_name").is_not_null())["record_id"]
    if later.is_in(named.implode()).any():
        return None
    return Changes(now.join(held, on="record_id", how="anti")["record_id"].sort(), later.sort())


def evidence_frame(resolution: Resolution, records: pl.DataFrame) -> pl.DataFrame:
    """Every edge of `resolution` (see `EDGE_COLUMNS`), each with the customer of its record.

    A record edge carries the record's digest, its latest time (as evidence) and, as its
    probability, its membership confidence; an identifier set aside or of a household has a row
    of its own (no record), with the reason.
    """
    linkage = resolution.linkage
    owners = resolution.membership.select("record_id", "customer_id")
    digests = record_digests(records).join(resolution.membership, on="record_id", how="left")
    parts = [
        digests.select(
            "record_id",
            pl.lit("record").alias("edge"),
            pl.lit("digest").alias("target_kind"),
            pl.col("digest").alias("target_value"),
            pl.col("confidence").alias("probability"),
            pl.col("seen_at").alias("evidence"),
        ),
        linkage.identifier_links.select(
            "record_id", pl.lit("identifier").alias("edge"), pl.col("kind").alias("target_kind"), "value"
        ).rename({"value": "target_value"}),
        linkage.matches.select(
            pl.col("left_id").alias("record_id"),
            pl.lit("match").alias("edge"),
            pl.lit("record").alias("target_kind"),
            pl.col("right_id").alias("target_value"),
            "probability",
            "evidence",
        ),
        pl.DataFrame(
            [(left, "must_link", "record", right) for left, right in linkage.must_links],
            schema=["record_id", "edge", "target_kind", "target_value"],
            orient="row",
        ),
        pl.DataFrame(
            [("set_aside", kind, value, reason) for (_, kind, value), reason in resolution.untrusted.items()],
            schema=["edge", "target_kind", "target_value", "evidence"],
            orient="row",
        ),
        pl.DataFrame(
            [("household", kind, value) for _, kind, value in resolution.household],
            schema=["edge", "target_kind", "target_value"],
            orient="row",
        ),
        resolution.cuts.select(
            pl.col("left_record").alias("record_id"),
            pl.lit("cut").alias("edge"),
            pl.lit("record").alias("target_kind"),
            pl.col("right_record").alias("target_value"),
            pl.struct(*CUT_COLUMNS[2:]).struct.json_encode().alias("evidence"),
        ),
    ]
    edges = pl.concat(
        [part.cast({k: v for k, v in _SCHEMA.items() if k in part.columns}) for part in parts], how="diagonal"
    )
    return (
        edges.join(owners, on="record_id", how="left")
        .select(EDGE_COLUMNS)
        .sort("customer_id", "record_id", "edge", "target_kind", "target_value", nulls_last=True)
    )


def restore(*, customers: pl.DataFrame, links: pl.DataFrame, evidence: pl.DataFrame) -> Resolution:
    """The resolution a build wrote, read back from its gold tables."""
    membership = (
        evidence.filter(pl.col("edge") == "record")
        .filter(pl.col("customer_id").is_not_null())
        .select("record_id", "customer_id", pl.col("probability").alias("confidence"))
    )
    set_aside = evidence.filter(pl.col("edge") == "set_aside").select("target_kind", "target_value", "evidence")
    untrusted = {identifier_node(kind, value): reason for kind, value, reason in set_aside.iter_rows()}
    family = evidence.filter(pl.col("edge") == "household").select("target_kind", "target_value")
    household = frozenset(identifier_node(kind, value) for kind, value in family.iter_rows())
    cuts = (
        _edges(evidence, "cut")
        .select(
            pl.col("record_id").alias("left_record"),
            pl.col("target_value").alias("right_record"),
            pl.col("evidence").str.json_decode(_CUT_FIELDS).alias("cut"),
        )
        .unnest("cut")
    )
    return Resolution(customers, links, untrusted, membership, cuts, linkage_of(evidence), household)


def linkage_of(evidence: pl.DataFrame) -> Links:
    """The links the evidence rows hold: all of a build's, or one customer's for its explanations."""
    return Links(
        evidence.filter(pl.col("edge") == "record")["record_id"],
        _edges(evidence, "identifier").select(
            "record_id", pl.col("target_kind").alias("kind"), pl.col("target_value").alias("value")
        ),
        _edges(evidence, "match").select(
            pl.col("record_id").alias("left_id"), pl.col("target_value").alias("right_id"), "probability", "evidence"
        ),
        tuple(_edges(evidence, "must_link").select("record_id", "target_value").iter_rows()),
    )


_CUT_FIELDS = pl.Struct(dict.fromkeys(CUT_COLUMNS[2:], pl.String))  # what a cut row holds besides its records


def _edges(evidence: pl.DataFrame, edge: str) -> pl.DataFrame:
    return evidence.filter(pl.col("edge") == edge)
