"""A resolution written as evidence edges reads back as the same resolution."""

from __future__ import annotations

import polars as pl

from identity.contract import contract_records
from identity.overrides import CannotLink
from identity.records import identifiers
from identity.resolve import resolve
from identity.state import evidence_frame, record_changes, record_digests, restore
from tests.unit.identity.test_incremental import sample


def test_restored_resolution_equals_the_one_written() -> None:
    old, new = sample()
    records = pl.concat([old, new])
    found = identifiers(records, default_region="US")
    users = records.filter(pl.col("source") == "users")["record_id"].sort().to_list()
    plain = resolve(records, found, max_people=3, default_region="US", build_id="b")
    groups = plain.membership.group_by("customer_id").agg(pl.col("record_id").sort())
    apart = ~pl.col("record_id").list.contains(users[0]) & ~pl.col("record_id").list.contains(users[1])
    pair = groups.filter(apart & (pl.col("record_id").list.len() > 1))
    left, right = pair.sort("customer_id")["record_id"][0].to_list()[:2]
    written = resolve(
        records, found, max_people=3, default_region="US", build_id="b",
        must_links=[(users[0], users[1])], cannot_links=[CannotLink(left, right, "manual:cannot_link")],
    )  # fmt: skip
    assert len(written.cuts) > 0
    evidence = evidence_frame(written, records)
    read = restore(customers=written.customers, links=written.links, evidence=evidence)

    assert read.untrusted == written.untrusted
    assert read.household == written.household
    assert read.membership.sort("record_id").equals(written.membership.sort("record_id"))
    assert read.cuts.sort(pl.all()).equals(written.cuts.select(read.cuts.columns).sort(pl.all()))
    assert sorted(read.linkage.record_ids.to_list()) == sorted(written.linkage.record_ids.to_list())
    for name in ("identifier_links", "matches"):
        mine, theirs = getattr(read.linkage, name), getattr(written.linkage, name)
        assert mine.sort(pl.all()).equals(theirs.select(mine.columns).sort(pl.all())), name
    assert set(read.linkage.must_links) == set(written.linkage.must_links) == {(users[0], users[1])}
    assert nx_edges(read) == nx_edges(written)


def nx_edges(resolution) -> set[frozenset[tuple[str, ...]]]:  # type: ignore[no-untyped-def]
    return {frozenset(edge) for edge in resolution.graph.edges}


def test_changes_tell_new_records_later_visits_and_edits_apart() -> None:
    old, new = sample()
    written = resolve(old, identifiers(old, default_region="US"), max_people=3, default_region="US", build_id="b")
    evidence = evidence_frame(written, old)
    unchanged = record_changes(old, evidence)
    assert unchanged is not None and unchanged.new.is_empty() and unchanged.seen_again.is_empty()
    grown = record_changes(pl.concat([old, new]), evidence)
    assert grown is not None and sorted(grown.new.to_list()) == sorted(new["record_id"].to_list())
    order = old.filter(pl.col("source") == "web")["record_id"][0]
    later = old.with_columns(
        pl.when(pl.col("record_id") == order).then(pl.col("seen_at").dt.offset_by("1d")).otherwise("seen_at")
    )
    visited = record_changes(later, evidence)
    assert visited is not None and visited.seen_again.to_list() == [order] and visited.new.is_empty()
    account = old.filter(pl.col("source") == "users")["record_id"][0]
    renamed_later = later.with_columns(
        pl.when(pl.col("record_id") == account).then(pl.col("seen_at").dt.offset_by("1d")).otherwise("seen_at")
    )
    assert record_changes(renamed_later, evidence) is None, "a named record's versions order its match columns"
    edited = old.with_columns(pl.when(pl.col("record_id") == order).then(pl.lit("x@example.com")).otherwise("email"))
    assert record_changes(edited, evidence) is None
    assert record_changes(old.filter(pl.col("record_id") != order), evidence) is None, "a record gone"


def test_digest_tells_a_changed_record_and_ignores_row_order() -> None:
    records = contract_records(pl.DataFrame({"record_id": ["a", "b"], "email": ["x@example.com", "y@example.com"]}))
    versions = pl.concat([records, records.with_columns(pl.lit("z@example.com").alias("email"))])
    first = record_digests(versions)
    again = record_digests(versions.reverse())
    changed = record_digests(versions.with_columns(pl.lit("w@example.com").alias("email")).head(3))
    joined = first.join(again, on="record_id").join(changed, on="record_id", suffix="_changed")
    assert (joined["digest"] == joined["digest_right"]).all()
    assert (
        joined.filter(pl.col("record_id") == "a")["digest_changed"].item()
        != joined.filter(pl.col("record_id") == "a")["digest"].item()
    )
