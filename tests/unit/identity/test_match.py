"""Probabilistic matching: weights estimated from data separate people, names swap, households stay apart."""

from __future__ import annotations

import random
from datetime import date

import networkx as nx
import numpy as np
import polars as pl
import pytest

from identity.compare import NULL_LEVEL, PERSON_COMPARISONS, Comparison, level_matrix
from identity.evaluate import score
from identity.match import Matcher, blocked_pairs, match_frame, patterns, probability
from tests.unit.identity.test_resolve import records

FIRST = ["olivia", "liam", "emma", "noah", "ava", "elijah", "sophia", "lucas", "mia", "mason", "harper", "ethan"]
LAST = ["garcia", "smith", "nguyen", "patel", "kowalski", "oconnor", "haddad", "rossi", "novak", "jensen"]


def _typo(rng: random.Random, word: str) -> str:
    i = rng.randrange(len(word) - 1)
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


def people(count: int, seed: int = 3) -> tuple[pl.DataFrame, dict[str, int]]:
    """`count` people, each written 1-3 times with typos and missing values; the truth by record id."""
    rng = random.Random(seed)
    rows, truth = [], {}
    for person in range(count):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        dob = date(rng.randrange(1940, 2000), rng.randrange(1, 13), rng.randrange(1, 29))
        street = f"{rng.randrange(1, 999)} {rng.choice(['elm', 'oak', 'pine', 'cedar'])} st"
        postcode = f"{rng.randrange(10000, 10400)}"
        for copy in range(rng.choice([1, 2, 3])):
            row = {"first_name": first, "last_name": last, "dob": dob, "street": street, "postcode": postcode}
            if copy:
                field = rng.choice(["first_name", "last_name", "street"])
                row[field] = _typo(rng, row[field])
                row[rng.choice(["dob", "street"])] = None
            record_id = f"r{person}-{copy}"
            rows.append({"record_id": record_id, "source": "crm", "record_key": record_id, **row})
            truth[record_id] = person
    return records(rows), truth


def test_levels_rank_exact_then_close_then_else_and_missing_weighs_nothing() -> None:
    comparison = Comparison("first", ())
    levels = level_matrix(
        pl.DataFrame({"first": ["ann", "ann", None]}), pl.DataFrame({"first": ["ann", "bob", "ann"]}), [comparison]
    )
    assert levels[:, 0].tolist() == [0, 1, NULL_LEVEL]


def test_a_score_exactly_at_a_step_bound_reaches_that_step() -> None:
    # Jaro-Winkler("soia", "sophie") is exactly 0.8: rapidfuzz's cutoff at 0.8 would round it down to 0.
    first = next(c for c in PERSON_COMPARISONS if c.column == "first")
    assert first.labels[3] == "jaro_winkler_0.8"
    assert first.inexact_levels(["soia", "soia"], ["sophie", "zzzz"]).tolist() == [3, 4]


def test_estimated_model_separates_people_it_was_never_told_about() -> None:
    frame, truth = people(600)
    matcher = Matcher.fit(frame, default_region="US")
    graph = nx.Graph(matcher.matches(0.99).select("left_id", "right_id").rows())
    graph.add_nodes_from(truth)
    clusters = pl.DataFrame(
        [(record, str(i)) for i, group in enumerate(nx.connected_components(graph)) for record in group],
        schema={"record_id": pl.String, "cluster": pl.String},
        orient="row",
    )
    persons = pl.DataFrame({"record_id": list(truth), "person": [str(p) for p in truth.values()]})
    accuracy = score(clusters, persons)
    assert accuracy.precision >= 0.98 and accuracy.recall >= 0.95, accuracy
    weights = dict(zip(matcher.model.comparisons, matcher.model.weights(), strict=True))
    for comparison, weight in weights.items():
        if comparison.column not in ("first", "last", "dob", "street", "postcode"):
            continue  # not in this data: never estimated, never applied
        assert weight[0] > 0 > weight[-1], f"{comparison.column}: agreeing is evidence for, disagreeing against"


def test_names_typed_into_swapped_fields_still_match() -> None:
    frame, _ = people(300)
    swapped = frame.filter(pl.col("record_id") == "r0-0").with_columns(
        record_id=pl.lit("swapped"), first_name=pl.col("last_name"), last_name=pl.col("first_name")
    )
    matcher = Matcher.fit(pl.concat([frame, swapped]), default_region="US")
    found = matcher.matches(0.99).filter((pl.col("left_id") == "r0-0") & (pl.col("right_id") == "swapped"))
    assert len(found) == 1 and "first=exact" in found["evidence"].item()


def test_a_household_is_never_matched_however_much_else_agrees() -> None:
    frame, _ = people(300)
    sibling = frame.filter(pl.col("record_id") == "r0-0").with_columns(
        record_id=pl.lit("sibling"), first_name=pl.lit("zebedee"), dob=pl.lit(date(2001, 1, 1))
    )
    matcher = Matcher.fit(pl.concat([frame, sibling]), default_region="US")
    assert matcher.matches(0.0).filter(pl.col("right_id") == "sibling").is_empty()


def test_only_named_records_are_matched() -> None:
    frame = records([{"record_id": f"o{i}", "source": "orders", "record_key": str(i), "email": f"p{i}@x.com"}
                     for i in range(5)])  # fmt: skip
    matcher = Matcher.fit(frame, default_region="US")
    assert matcher.frame.is_empty() and matcher.matches(0.0).is_empty()


def test_blocks_larger_than_the_cap_are_skipped() -> None:
    frame = pl.DataFrame({"last": ["smith"] * 5 + ["jones"] * 2, "postcode": ["1"] * 7}).with_row_index("row")
    [pairs] = blocked_pairs(frame, [("last", "postcode")], max_block=3)
    assert pairs.rows() == [(5, 6)]


@pytest.mark.parametrize(("weight", "expected"), [(0.0, 0.5), (np.log2(99), 0.99), (-np.log2(99), 0.01)])
def test_probability_is_the_logistic_of_the_match_weight_in_bits(weight: float, expected: float) -> None:
    assert probability(np.array([weight]))[0] == pytest.approx(expected)


def test_match_frame_keeps_the_latest_version_of_a_record() -> None:
    frame = records([
        {"record_id": "u1", "source": "users", "record_key": "1", "first_name": "Ann", "last_name": "Old"},
        {"record_id": "u1", "source": "users", "record_key": "1", "first_name": "Ann", "last_name": "New",
         "seen_at": records([{"record_id": "x"}])["seen_at"][0].replace(year=2027)},
    ])  # fmt: skip
    assert match_frame(frame, default_region="US")["last"].to_list() == ["new"]


def test_patterns_count_every_pair_once() -> None:
    rng = np.random.default_rng(5)
    levels = rng.integers(NULL_LEVEL, 5, size=(2000, 9)).astype(np.int8)
    levels[:1000] = levels[0]  # one pattern shared by half the pairs
    distinct, counts = patterns(levels)
    assert counts.sum() == len(levels)
    assert len({tuple(row) for row in distinct.tolist()}) == len(distinct)
    rebuilt = np.repeat(distinct, counts.astype(int), axis=0)
    assert sorted(map(tuple, rebuilt.tolist())) == sorted(map(tuple, levels.tolist()))
