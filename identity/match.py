"""Probabilistic record linkage: Fellegi-Sunter weights estimated from the data, as Splink does.

1. records are normalised into match columns (names folded and nicknames mapped, E.164 phones,
   canonical e-mails; junk and relay values dropped, they are evidence of nothing);
2. candidate pairs come from blocking rules: pairs equal on a rule's columns, blocks capped in size;
3. u (how often a level occurs between two random records) is counted on randomly sampled pairs;
4. m (how often it occurs between two records of one person) is estimated by expectation-maximisation
   with u held fixed, in training sessions that each leave out the columns they block on; the prior
   (two random records matching) is the expected number of matches among candidates over all pairs;
5. each pair's match weight is the sum of log2(m/u) of its levels plus the prior's log-odds; the
   match probability follows. Missing values weigh nothing.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl
from rapidfuzz import process
from rapidfuzz.distance import JaroWinkler

from identity.compare import MISSING, NULL_LEVEL, PERSON_COMPARISONS, Coded, Comparison
from identity.normalize import (
    is_junk,
    is_relay_email,
    normalize_email,
    normalize_name,
)
from identity.records import map_distinct, name_and_address, record_phones, text_column

MATCH_COLUMNS = ("first", "last", "dob", "street", "city", "postcode", "phone", "email", "national_id")
BLOCKING_RULES: tuple[tuple[str, ...], ...] = (
    ("last", "postcode"),
    ("names",),
    ("first", "postcode"),
    ("last", "dob"),
    ("first", "dob"),
    ("dob", "postcode"),
    ("dob", "city"),
    ("street", "postcode"),
    ("street", "city"),
    ("phone",),
    ("email",),
    ("national_id",),
)
"""Pairs equal on any of these column groups are compared; each tolerates typos in the others."""
TRAINING_RULES: tuple[tuple[str, ...], ...] = (
    ("names",),
    ("street", "postcode"),
    ("phone",),
    ("email",),
    ("national_id",),
)
"""Blocks whose pairs train m (each one of BLOCKING_RULES): together they leave every comparison out of one."""
# Blocking keys derived from several comparison columns.
_COVERS = {"names": ("first", "last")}
MAX_BLOCK = 400
U_SAMPLE_PAIRS = 30000
EM_ITERATIONS = 40
_FLOOR = 1e-6
_PATTERN_BITS = 3  # per comparison in a pattern key: levels from NULL_LEVEL (-1) to 6


def _email(value: str) -> str | None:
    email = normalize_email(value)
    return None if email is None or is_relay_email(email) or is_junk("email", email) else email


def _phone(e164: str) -> str | None:
    return None if is_junk("phone", e164) else e164


def _national_id(value: str) -> str | None:
    """A government id (SSN, NI number) as digits and capitals only."""
    return "".join(ch for ch in value.upper() if ch.isalnum()) or None


def match_frame(records: pl.DataFrame, *, default_region: str) -> pl.DataFrame:
    """One row per named record (its latest version): `record_id` and the normalised match columns.

    Records without a name (most orders) are linked by their identifiers alone: an e-mail one
    letter away from another is no evidence of a person without a name to go with it.
    """
    named = pl.col("first_name").is_not_null() | pl.col("last_name").is_not_null()
    return normalised(records.filter(named), default_region=default_region)


def normalised(records: pl.DataFrame, *, default_region: str) -> pl.DataFrame:
    """One row per record (its latest version): `record_id`, the normalised match columns and `row`."""
    latest = records.sort("seen_at", nulls_last=False).unique(subset="record_id", keep="last", maintain_order=True)
    latest = latest.sort("record_id")

    person = name_and_address(latest)
    return (
        pl.DataFrame(
            {
                "record_id": latest["record_id"],
                "first": person["first"],
                "last": person["last"],
                "dob": text_column(latest, "dob"),
                "street": person["street"],
                "city": map_distinct(text_column(latest, "city"), normalize_name),
                "postcode": person["postcode"],
                "phone": map_distinct(record_phones(latest, default_region=default_region), _phone),
                "email": map_distinct(text_column(latest, "email"), _email),
                "national_id": map_distinct(text_column(latest, "national_id"), _national_id),
            }
        )
        .with_columns(_names_key())
        .with_row_index("row")
    )


def _names_key() -> pl.Expr:
    """First and last name in sorted order: blocks pairs whose names were typed into swapped fields."""
    lowest = pl.min_horizontal("first", "last")
    highest = pl.max_horizontal("first", "last")
    both = pl.col("first").is_not_null() & pl.col("last").is_not_null()
    return pl.when(both).then(pl.concat_str(lowest, highest, separator="|")).alias("names")


def blocked_pairs(
    frame: pl.DataFrame, rules: Sequence[Sequence[str]] = BLOCKING_RULES, *, max_block: int = MAX_BLOCK
) -> list[pl.DataFrame]:
    """Per rule, the (left, right) row pairs, left < right, equal on the rule's columns.

    A block larger than `max_block` records is skipped: a key that many records share (a common
    name in a big city) says little, and its pairs would grow with the square of its size.
    """
    parts = []
    for rule in rules:
        keyed = frame.select("row", *rule).drop_nulls()
        small = keyed.group_by(*rule).len().filter(pl.col("len") <= max_block).drop("len")
        keyed = keyed.join(small, on=list(rule))
        pairs = keyed.join(keyed, on=list(rule), suffix="_r").filter(pl.col("row") < pl.col("row_r"))
        parts.append(pairs.select(pl.col("row").alias("left"), pl.col("row_r").alias("right")))
    return parts


def _union(parts: list[pl.DataFrame]) -> pl.DataFrame:
    """The candidate pairs: every rule's pairs, once each, sorted."""
    if not parts:
        return pl.DataFrame(schema={"left": pl.UInt32, "right": pl.UInt32})
    return pl.concat(parts).unique().sort("left", "right")


def pair_levels(frame: pl.DataFrame, pairs: pl.DataFrame, comparisons: Sequence[Comparison]) -> np.ndarray:
    """Level matrix of `pairs` (rows of `frame`), names compared in whichever field order fits better."""
    left_rows, right_rows = pairs["left"].to_numpy(), pairs["right"].to_numpy()
    names = Coded.of(frame["first"], frame["last"])
    first, last = (codes[left_rows] for codes in names.codes)
    right_first, right_last = _aligned_names(names.values, first, last, *(codes[right_rows] for codes in names.codes))
    columns = []
    for comparison in comparisons:
        if comparison.column in ("first", "last"):
            left, right = (first, right_first) if comparison.column == "first" else (last, right_last)
            columns.append(comparison.coded_levels(names.values, left, right))
            continue
        column = Coded.of(frame[comparison.column])
        codes = column.codes[0]
        columns.append(comparison.coded_levels(column.values, codes[left_rows], codes[right_rows]))
    return np.column_stack(columns) if columns else np.empty((len(pairs), 0), dtype=np.int8)


def _aligned_names(
    names: np.ndarray, first: np.ndarray, last: np.ndarray, right_first: np.ndarray, right_last: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The right side's first and last names (codes into `names`), swapped where they match the left's crosswise better.

    A form filled in the wrong order ("Kranz, Alex") is one person; comparing straight would count
    two disagreements.
    """

    def similarity(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        both = (a != MISSING) & (b != MISSING)
        out = (both & (a == b)).astype(float)
        rows = np.flatnonzero(both & (a != b))
        if len(rows):
            distinct, inverse = np.unique(a[rows] * len(names) + b[rows], return_inverse=True)
            scores = process.cpdist(
                names[distinct // len(names)].tolist(),
                names[distinct % len(names)].tolist(),
                scorer=JaroWinkler.normalized_similarity,
                workers=-1,
            )
            out[rows] = scores[inverse]
        return out

    straight = similarity(first, right_first) + similarity(last, right_last)
    crossed = similarity(first, right_last) + similarity(last, right_first)
    swap = crossed > straight
    return np.where(swap, right_last, right_first), np.where(swap, right_first, right_last)


@dataclass
class MatchModel:
    """m and u probabilities per comparison level and the prior match probability of a candidate pair."""

    comparisons: tuple[Comparison, ...]
    m: list[np.ndarray]
    u: list[np.ndarray]
    prior: float

    def weights(self) -> list[np.ndarray]:
        """log2(m/u) per comparison level: the evidence each level adds."""
        return self._weights

    @functools.cached_property
    def _weights(self) -> list[np.ndarray]:
        return [np.log2(np.maximum(m, _FLOOR) / np.maximum(u, _FLOOR)) for m, u in zip(self.m, self.u, strict=True)]

    def match_weight(self, levels: np.ndarray) -> np.ndarray:
        """Total match weight of each pair: prior log-odds plus the weight of every level present."""
        total = np.full(len(levels), np.log2(self.prior / (1 - self.prior)))
        for k, weights in enumerate(self.weights()):
            column = levels[:, k]
            present = column != NULL_LEVEL
            total[present] += weights[column[present]]
        return total

    def explain(self, levels: np.ndarray) -> list[str]:
        """Each pair's evidence: 'first=exact(+6.1) last=else(-4.0) ...' (missing sides left out)."""
        # One text per comparison level, the missing level (-1) indexing the trailing empty text.
        texts = [
            [f"{c.column}={label}({weight:+.1f})" for label, weight in zip(c.labels, w, strict=True)] + [""]
            for c, w in zip(self.comparisons, self.weights(), strict=True)
        ]
        columns = [[texts[k][level] for level in levels[:, k].tolist()] for k in range(len(texts))]
        return [" ".join(part for part in row if part) for row in zip(*columns, strict=True)]


def probability(match_weight: np.ndarray) -> np.ndarray:
    """Match probability of a match weight (log2 odds)."""
    return 1.0 / (1.0 + np.exp2(-np.clip(match_weight, -60, 60)))


def estimate_u(
    frame: pl.DataFrame, comparisons: Sequence[Comparison], *, sample_pairs: int = U_SAMPLE_PAIRS, seed: int = 42
) -> list[np.ndarray]:
    """Level frequencies between two random records that both carry the value (almost all non-matches).

    The exact level comes from the value counts (the chance two random values are equal); the others
    from `sample_pairs` random unequal pairs, with add-one smoothing.
    """
    rng = np.random.default_rng(seed)
    found = []
    for comparison in comparisons:
        values = frame[comparison.column].drop_nulls()
        size = len(comparison.labels)
        if len(values) < 2:
            found.append(np.full(size, 1.0 / size))
            continue
        counts = values.value_counts()["count"].to_numpy().astype(float)
        exact = float((counts * (counts - 1)).sum() / (len(values) * (len(values) - 1)))
        left = values.gather(rng.integers(0, len(values), size=sample_pairs))
        right = values.gather(rng.integers(0, len(values), size=sample_pairs))
        unequal = left != right
        levels = comparison.levels(left.filter(unequal), right.filter(unequal))
        inexact = np.bincount(levels, minlength=size)[1:] + 1.0
        found.append(np.concatenate([[exact], (1.0 - exact) * inexact / inexact.sum()]))
    return found


def _frequencies(column: np.ndarray, size: int, weights: np.ndarray) -> np.ndarray:
    """Weighted share of each level among the pairs where it is present."""
    present = column != NULL_LEVEL
    counts = np.bincount(column[present], weights=weights[present], minlength=size)
    return np.maximum(counts / max(counts.sum(), _FLOOR), _FLOOR)


def _initial_m(size: int) -> np.ndarray:
    """Most matches agree exactly, fewer closely, few not at all."""
    shares = np.array([0.9 / (4**i) for i in range(size)])
    shares[-1] = 0.02
    return shares / shares.sum()


def patterns(levels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of a level matrix and how many pairs have each.

    Pairs with one pattern of levels have one posterior, so EM runs over a few thousand patterns
    instead of a million pairs (as Splink does).
    """
    if not len(levels):
        return levels, np.zeros(0)
    if levels.max() - NULL_LEVEL >= 1 << _PATTERN_BITS:
        raise ValueError(f"a comparison has more levels than {_PATTERN_BITS} bits hold")
    key = np.zeros(len(levels), dtype=np.int64)
    for k in range(levels.shape[1]):
        key = (key << _PATTERN_BITS) | (levels[:, k].astype(np.int64) - NULL_LEVEL)
    _, first, counts = np.unique(key, return_index=True, return_counts=True)
    return levels[first], counts.astype(float)


def _em(
    levels: np.ndarray, counts: np.ndarray, model: MatchModel, trained: list[int], *, iterations: int
) -> MatchModel:
    """Expectation-maximisation of m for the `trained` comparisons and of the pairs' prior; u fixed.

    `levels` are patterns, each standing for `counts` pairs (see `patterns`).
    """
    for _ in range(iterations):
        # E: each pair's posterior probability of being a match under the current model.
        posterior = probability(model.match_weight(levels))
        # M: m per level = the posterior-weighted share of matches at that level.
        m = list(model.m)
        for k in trained:
            m[k] = _frequencies(levels[:, k], len(model.comparisons[k].labels), posterior * counts)
        prior = float(np.clip((posterior * counts).sum() / counts.sum(), 1e-6, 1 - 1e-6))
        change = max(float(np.abs(new - old).max()) for new, old in zip(m, model.m, strict=True))
        model = MatchModel(model.comparisons, m, model.u, prior)
        if change < 1e-5:
            break
    return model


def estimate_m(
    sessions: Iterable[tuple[Sequence[str], np.ndarray]],
    u: list[np.ndarray],
    comparisons: Sequence[Comparison],
    *,
    iterations: int = EM_ITERATIONS,
) -> list[np.ndarray]:
    """m per comparison level, by EM over each training session (Splink's): a rule and its pairs' levels.

    Pairs blocked on a rule agree on its columns by construction, so a session leaves those
    comparisons out and estimates the others; each comparison's m is the average over the sessions
    that estimated it (weighted by their expected matches).
    """
    sums = [np.zeros(len(c.labels)) for c in comparisons]
    mass = np.zeros(len(comparisons))
    for rule, session in sessions:
        if not len(session):
            continue
        blocked = {column for key in rule for column in _COVERS.get(key, (key,))}
        trained = [k for k, c in enumerate(comparisons) if c.column not in blocked]
        levels = session.copy()
        levels[:, [k for k in range(len(comparisons)) if k not in trained]] = NULL_LEVEL
        levels, counts = patterns(levels)
        start = MatchModel(tuple(comparisons), [_initial_m(len(c.labels)) for c in comparisons], u, prior=0.5)
        model = _em(levels, counts, start, trained, iterations=iterations)
        expected = (probability(model.match_weight(levels)) * counts).sum()
        for k in trained:
            sums[k] += model.m[k] * expected
            mass[k] += expected
    return [
        total / weight if weight > 0 else _initial_m(len(c.labels))
        for total, weight, c in zip(sums, mass, comparisons, strict=True)
    ]


def estimate_prior(levels: np.ndarray, model: MatchModel, record_count: int, *, iterations: int = 20) -> float:
    """Probability that two random records match: expected matches among candidates over all pairs.

    A fixed point, assuming blocking finds (nearly) every match, as Splink's deterministic estimate does.
    """
    all_pairs = max(record_count * (record_count - 1) / 2, 1.0)
    prior = min(1.0 / all_pairs, 0.5)
    # The levels' evidence does not change with the prior: weigh them once, shift by the prior's log-odds.
    levels, counts = patterns(levels)
    evidence = MatchModel(model.comparisons, model.m, model.u, 0.5).match_weight(levels)
    for _ in range(iterations):
        expected = (probability(evidence + np.log2(prior / (1 - prior))) * counts).sum()
        prior = float(np.clip(expected / all_pairs, 1e-12, 0.5))
    return prior


@dataclass
class Matcher:
    """A model fitted to one set of records, able to score any pair of them."""

    frame: pl.DataFrame  # match_frame of the records
    model: MatchModel
    candidates: pl.DataFrame  # left, right rows from blocking
    levels: np.ndarray  # the candidates' level matrix

    @classmethod
    def fit(
        cls,
        records: pl.DataFrame,
        *,
        default_region: str,
        comparisons: Sequence[Comparison] = PERSON_COMPARISONS,
        max_block: int = MAX_BLOCK,
    ) -> Matcher:
        """Normalise `records`, block them and estimate u, m and the prior (see the module docstring)."""
        frame = match_frame(records, default_region=default_region)
        u = estimate_u(frame, comparisons)
        # Every rule's pairs are compared once; the training sessions take their rows of that matrix.
        per_rule = dict(zip(BLOCKING_RULES, blocked_pairs(frame, max_block=max_block), strict=True))
        candidates = _union(list(per_rule.values()))
        levels = pair_levels(frame, candidates, comparisons)
        numbered = candidates.with_row_index("pair")
        sessions = [
            (rule, levels[numbered.join(per_rule[rule], on=["left", "right"], how="semi")["pair"].to_numpy()])
            for rule in TRAINING_RULES
        ]
        model = MatchModel(tuple(comparisons), estimate_m(sessions, u, comparisons), u, prior=0.5)
        model.prior = estimate_prior(levels, model, len(frame))
        return cls(frame, model, candidates, levels)

    @functools.cached_property
    def named(self) -> frozenset[str]:
        """Ids of the records the matcher holds (those with a name)."""
        return frozenset(self.frame["record_id"].to_list())

    def matches(self, threshold: float) -> pl.DataFrame:
        """Candidate pairs at or above `threshold` that are no household.

        Columns: left_id, right_id, match_weight, probability, evidence.
        """
        levels = self.levels
        weight = self.model.match_weight(levels)
        keep = np.flatnonzero((probability(weight) >= threshold) & ~self.household(levels))
        ids = self.frame["record_id"]
        return pl.DataFrame(
            {
                "left_id": ids.gather(self.candidates["left"].gather(keep)),
                "right_id": ids.gather(self.candidates["right"].gather(keep)),
                "match_weight": weight[keep],
                "probability": probability(weight[keep]),
                "evidence": self.model.explain(levels[keep]),
            },
            schema={"left_id": pl.String, "right_id": pl.String, "match_weight": pl.Float64,
                    "probability": pl.Float64, "evidence": pl.String},
        )  # fmt: skip

    def levels_of(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        """Level matrix of pairs of record ids (both named)."""
        rows = dict(zip(self.frame["record_id"].to_list(), range(len(self.frame)), strict=True))
        frame = pl.DataFrame(
            {"left": [rows[a] for a, _ in pairs], "right": [rows[b] for _, b in pairs]},
            schema={"left": pl.UInt32, "right": pl.UInt32},
        )
        return pair_levels(self.frame, frame, self.model.comparisons)

    def evidence_weight(self, levels: np.ndarray) -> np.ndarray:
        """What two records' attributes say about them being one person, in bits, without the prior."""
        return self.model.match_weight(levels) - np.log2(self.model.prior / (1 - self.model.prior))

    def household(self, levels: np.ndarray) -> np.ndarray:
        """Pairs whose first names disagree outright, with no birth date or national id in common.

        Equal or one typo apart counts as in common: relatives never share a national id, and rarely a
        birth date.

        That is two members of one household (same address, phone, often surname), not one person
        with a typo, whatever the rest of the evidence says.
        """
        columns = [c.column for c in self.model.comparisons]
        first = levels[:, columns.index("first")]
        different = first == len(self.model.comparisons[columns.index("first")].labels) - 1
        personal = np.zeros(len(levels), dtype=bool)
        for name in ("dob", "national_id"):
            if name in columns:
                personal |= np.isin(levels[:, columns.index(name)], (0, 1))  # equal or one typo apart
        return different & ~personal
