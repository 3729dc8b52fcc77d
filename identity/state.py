"""A build's identity graph as one frame of edges, and the resolution read back from it.

A full resolution of a million records takes a minute; the next build only needs to know where
the last one put every record and identifier, which matches it kept and which links it cut. The
evidence frame holds exactly that (see `schema.gold.IDENTITY_EVIDENCE`), one row per edge, plus a
digest of every record's content so that a changed record is told from an unchanged one.
"""

from __future__ import annotations

import polars as pl

from identity.graph import household_identifiers, untrusted_identifiers
from identity.links import Links
from identity.match import match_frame
from identity.resolve import Resolution

EDGE_COLUMNS = ("customer_id", "edge", "record_id", "target_kind", "target_value", "probability", "evidence")
_SCHEMA = {
    "customer_id": pl.String,
    "edge": pl.String,
    "record_id": pl.String,
    "target_kind": pl.String,
    "target_value": pl.String,
    "probability": pl.Float64,
    "evidence": pl.String,
}


def record_digests(records: pl.DataFrame) -> pl.DataFrame:
    """(record_id, digest): a hash of every row a record has (all its versions), whatever their order."""
    content = pl.concat_str([pl.col(c).cast(pl.String).fill_null("\x00") for c in records.columns], separator="\x1f")
    hashed = records.select("record_id", content.hash(seed=0).alias("row"))
    digest = pl.col("row").sort().cast(pl.String).str.join("-").hash(seed=0).cast(pl.String)
    return hashed.group_by("record_id").agg(digest.alias("digest"))


def unseen_records(records: pl.DataFrame, evidence: pl.DataFrame) -> pl.Series | None:
    """Ids of the records the build behind `evidence` did not see; None when one it saw changed or is gone."""
    seen = evidence.filter(pl.col("edge") == "record").select("record_id", pl.col("target_value").alias("seen"))
    now = record_digests(records)
    compared = seen.join(now, on="record_id", how="left")
    if compared["digest"].is_null().any() or (compared["digest"] != compared["seen"]).any():
        return None
    return now.join(seen, on="record_id", how="anti")["record_id"].sort()


def evidence_frame(resolution: Resolution, records: pl.DataFrame) -> pl.DataFrame:
    """Every edge of `resolution` (see `EDGE_COLUMNS`), each with the customer of its record.

    A record edge carries the record's digest and, as its probability, its membership confidence.
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
        resolution.cuts.select(
            pl.col("left_record").alias("record_id"),
            pl.lit("cut").alias("edge"),
            pl.lit("record").alias("target_kind"),
            pl.col("right_record").alias("target_value"),
            pl.struct("reason", "removed", "rule").struct.json_encode().alias("evidence"),
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


def restore(
    records: pl.DataFrame,
    identifiers: pl.DataFrame,
    *,
    customers: pl.DataFrame,
    links: pl.DataFrame,
    evidence: pl.DataFrame,
    max_people: int,
    default_region: str,
) -> Resolution:
    """The resolution a build wrote, from its gold tables and the records it resolved.

    What is a pure function of the records (identifiers set aside, households) is computed again;
    what took the model and the cuts to decide (matches, cuts, owners) is read back.
    """
    record_edges = evidence.filter(pl.col("edge") == "record")
    membership = record_edges.filter(pl.col("customer_id").is_not_null()).select(
        "record_id", "customer_id", pl.col("probability").alias("confidence")
    )
    untrusted = untrusted_identifiers(records, identifiers, max_people=max_people)
    household = household_identifiers(match_frame(records, default_region=default_region), identifiers)
    linkage = Links(
        record_edges["record_id"],
        _edges(evidence, "identifier").select(
            "record_id", pl.col("target_kind").alias("kind"), pl.col("target_value").alias("value")
        ),
        _edges(evidence, "match").select(
            pl.col("record_id").alias("left_id"), pl.col("target_value").alias("right_id"), "probability", "evidence"
        ),
        tuple(_edges(evidence, "must_link").select("record_id", "target_value").iter_rows()),
    )
    cuts = (
        _edges(evidence, "cut")
        .select(
            pl.col("record_id").alias("left_record"),
            pl.col("target_value").alias("right_record"),
            pl.col("evidence").str.json_decode(_CUT_FIELDS).alias("cut"),
        )
        .unnest("cut")
    )
    return Resolution(customers, links, untrusted, membership, cuts, linkage, frozenset(household))


_CUT_FIELDS = pl.Struct({"reason": pl.String, "removed": pl.String, "rule": pl.String})


def _edges(evidence: pl.DataFrame, edge: str) -> pl.DataFrame:
    return evidence.filter(pl.col("edge") == edge).sort("record_id", "target_kind", "target_value")
