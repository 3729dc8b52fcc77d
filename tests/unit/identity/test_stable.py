"""Customer ids survive recomputation while their cluster persists; merges and splits are recorded."""

from __future__ import annotations

import random

import polars as pl
import pytest

from identity.stable import carry_over, redirects


def frame(clusters: dict[str, list[str]]) -> pl.DataFrame:
    rows = [(record, customer) for customer, records in clusters.items() for record in records]
    return pl.DataFrame(rows, schema={"record_id": pl.String, "customer_id": pl.String}, orient="row")


def test_an_unchanged_cluster_keeps_its_id_whatever_its_new_provisional_id() -> None:
    final, changes = carry_over(frame({"C-old": ["a", "b"]}), frame({"C-new": ["a", "b", "c"]}))
    assert final == {"C-new": "C-old"} and changes.is_empty()


def test_a_merge_keeps_the_larger_side_id_and_records_the_other() -> None:
    previous = frame({"C-1": ["a", "b", "c"], "C-2": ["d"]})
    final, changes = carry_over(previous, frame({"X": ["a", "b", "c", "d"]}))
    assert final == {"X": "C-1"}
    assert changes.rows() == [("C-2", "C-1", "merged", 1)]
    assert redirects(changes, set(final.values())) == {"C-2": ["C-1"]}


def test_a_split_keeps_the_id_on_the_larger_part_and_gives_the_rest_a_new_one() -> None:
    previous = frame({"C-1": ["a", "b", "c", "d"]})
    final, changes = carry_over(previous, frame({"X": ["a", "b", "c"], "C-1": ["d"]}))
    assert final["X"] == "C-1", "the larger part keeps the id"
    assert final["C-1"] not in {"C-1", "X"}, "a provisional id equal to a kept old id is not reused"
    assert changes.rows() == [("C-1", final["C-1"], "split", 1)]
    assert redirects(changes, set(final.values())) == {}, "C-1 still names a customer"


def test_an_id_split_across_two_new_customers_redirects_to_both() -> None:
    previous = frame({"C-1": ["a", "b"], "C-2": ["c", "d", "e"], "C-3": ["f", "g", "h"]})
    current = frame({"X": ["a", "c", "d", "e"], "Y": ["b", "f", "g", "h"]})
    final, changes = carry_over(previous, current)
    assert final == {"X": "C-2", "Y": "C-3"}
    assert redirects(changes, set(final.values())) == {"C-1": ["C-2", "C-3"]}
    assert set(changes["change"]) == {"split"}


def test_redirects_follow_changes_of_later_builds_to_the_ids_that_exist_now() -> None:
    columns = ("old_customer_id", "new_customer_id")
    # build 1: C-1 merged into C-2; build 2: C-2 split into C-3 and C-4; build 3: C-4 merged back into C-3
    changes = pl.DataFrame(
        [("C-1", "C-2"), ("C-2", "C-3"), ("C-2", "C-4"), ("C-4", "C-3")], schema=columns, orient="row"
    )
    assert redirects(changes, {"C-3"}) == {"C-1": ["C-3"], "C-2": ["C-3"], "C-4": ["C-3"]}
    assert redirects(changes, {"C-3", "C-4"}) == {"C-1": ["C-3", "C-4"], "C-2": ["C-3", "C-4"]}
    cycle = pl.DataFrame([("C-1", "C-2"), ("C-2", "C-1")], schema=columns, orient="row")
    assert redirects(cycle, {"C-9"}) == {}, "ids whose records are in no customer now lead nowhere"


@pytest.mark.parametrize("seed", range(5))
def test_ids_are_unique_and_every_moved_record_is_counted(seed: int) -> None:
    rng = random.Random(seed)
    records = [f"r{i}" for i in range(60)]
    previous = frame({f"C-{k}": [] for k in range(10)} | _random_clusters(rng, records, "C-"))
    current = frame(_random_clusters(rng, records, "N-"))
    final, changes = carry_over(previous, current)
    assert len(set(final.values())) == len(final), "one id per customer"
    moved = current.join(previous, on="record_id", suffix="_old").with_columns(
        pl.col("customer_id").replace_strict(final)
    )
    assert changes["records"].sum() == moved.filter(pl.col("customer_id") != pl.col("customer_id_old")).height


def _random_clusters(rng: random.Random, records: list[str], prefix: str) -> dict[str, list[str]]:
    clusters: dict[str, list[str]] = {}
    for record in records:
        clusters.setdefault(f"{prefix}{rng.randrange(12)}", []).append(record)
    return clusters


def test_a_fallback_id_is_never_one_already_in_use() -> None:
    """A part split off twice must not get the id its first split-off part still holds."""
    first, _ = carry_over(frame({"P": ["a", "b", "c"]}), frame({"X": ["a", "b"], "P": ["c"]}))
    fallback = first["P"]
    previous = frame({"P": ["a", "b"], fallback: ["c", "d"]})
    # "A" takes the fallback id by overlap; "P" is left without one and its own id is taken too.
    second, _ = carry_over(previous, frame({"Y": ["a", "b"], "A": ["c"], "P": ["d"]}))
    assert second["A"] == fallback and len(set(second.values())) == 3, second
