"""Comparisons of record pairs, each as ordered agreement levels (Splink's comparison levels).

A comparison turns the two values of one attribute for many pairs into level numbers: 0 is the
closest agreement (exact), higher numbers are weaker, the last level is "else" (disagreement) and
-1 means a side is missing, which carries no evidence either way. Similarities come from rapidfuzz's
vectorised `cpdist`, so a million pairs take a fraction of a second.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl
from rapidfuzz import process
from rapidfuzz.distance import DamerauLevenshtein, JaroWinkler, Levenshtein

NULL_LEVEL = -1
MISSING = -1
"""The code of a missing value in a `Coded` column."""
_SIMILARITY_SLACK = 1e-6
Similarity = Callable[..., float]


def _similarity(scorer: Similarity, left: list[str], right: list[str], bound: float, distance: bool) -> np.ndarray:
    """Scores of aligned pairs; beyond `bound` a score only says so, as rapidfuzz stops early.

    A similarity's cutoff sits a hair below the bound: with the cutoff at it, rapidfuzz rounds a
    score exactly at the bound ("soia", "sophie": 0.8) down to 0.
    """
    cutoff = bound if distance else bound - _SIMILARITY_SLACK
    return process.cpdist(left, right, scorer=scorer, workers=-1, score_cutoff=cutoff)


@dataclass(frozen=True)
class Coded:
    """Columns as int64 codes into their distinct values (MISSING for null).

    Pairs then compare as integers, and each distinct pair of values is found without hashing
    strings: a million candidate pairs are a million integer pairs, not two million strings.
    """

    values: np.ndarray  # object array of the distinct values
    codes: list[np.ndarray]  # one per column, aligned with it

    @classmethod
    def of(cls, *columns: pl.Series) -> Coded:
        """One code space shared by all `columns` (first and last names are compared crosswise)."""
        values = pl.concat([column.cast(pl.String) for column in columns]).drop_nulls().unique()
        numbers = pl.int_range(len(values), dtype=pl.Int64, eager=True)
        codes = [
            column.cast(pl.String)
            .replace_strict(values, numbers, default=MISSING, return_dtype=pl.Int64)
            .fill_null(MISSING)
            .to_numpy()
            for column in columns
        ]
        return cls(values.to_numpy().astype(object), codes)


@dataclass(frozen=True)
class Comparison:
    """One attribute compared: exact, then `steps` of (label, scorer, minimum similarity), then else.

    A step's bound is a minimum normalised similarity (0-1) or, for a distance scorer (its last
    field True), a maximum edit distance.
    """

    column: str
    steps: tuple[tuple[str, Similarity, float, bool], ...] = ()

    @property
    def labels(self) -> tuple[str, ...]:
        """Level names, closest first; the last is the disagreement level."""
        return ("exact", *(step[0] for step in self.steps), "else")

    def levels(self, left: pl.Series, right: pl.Series) -> np.ndarray:
        """Level of each pair (int8), NULL_LEVEL where either side is missing."""
        column = Coded.of(left, right)
        return self.coded_levels(column.values, column.codes[0], column.codes[1])

    def coded_levels(self, values: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        """`levels` of pairs given as codes into `values` (see `Coded`), MISSING where a side has none."""
        out = np.full(len(left), len(self.labels) - 1, dtype=np.int8)
        present = (left != MISSING) & (right != MISSING)
        out[~present] = NULL_LEVEL
        exact = present & (left == right)
        out[exact] = 0
        todo = np.flatnonzero(present & ~exact)
        if len(todo):
            # Each distinct pair of values is scored once: cities, postcodes and dates repeat a lot.
            distinct, inverse = np.unique(left[todo] * len(values) + right[todo], return_inverse=True)
            levels = self.inexact_levels(
                values[distinct // len(values)].tolist(), values[distinct % len(values)].tolist()
            )
            out[todo] = levels[inverse]
        return out

    def inexact_levels(self, left: list[str], right: list[str]) -> np.ndarray:
        """Levels of pairs of present, unequal values: the first step each pair reaches, else the last level."""
        out = np.full(len(left), len(self.labels) - 1, dtype=np.int8)
        todo = np.arange(len(left))
        lefts, rights = np.array(left, dtype=object), np.array(right, dtype=object)
        for number, (_, scorer, bound, distance) in enumerate(self.steps, start=1):
            if not len(todo):
                break
            score = _similarity(scorer, lefts[todo].tolist(), rights[todo].tolist(), bound, distance)
            hit = (score <= bound) if distance else (score >= bound)
            out[todo[hit]] = number
            todo = todo[~hit]
        return out


def _jw(label: str, bound: float) -> tuple[str, Similarity, float, bool]:
    return (label, JaroWinkler.normalized_similarity, bound, False)


def _edits(
    label: str, bound: int, scorer: Similarity = DamerauLevenshtein.distance
) -> tuple[str, Similarity, float, bool]:
    return (label, scorer, float(bound), True)


PERSON_COMPARISONS: tuple[Comparison, ...] = (
    Comparison("first", (_jw("jaro_winkler_0.92", 0.92), _edits("one_edit", 1), _jw("jaro_winkler_0.8", 0.8))),
    Comparison("last", (_jw("jaro_winkler_0.92", 0.92), _edits("one_edit", 1), _jw("jaro_winkler_0.8", 0.8))),
    Comparison("dob", (_edits("one_edit", 1), _edits("two_edits", 2))),
    Comparison("street", (_edits("two_edits", 2, Levenshtein.distance), _jw("jaro_winkler_0.85", 0.85))),
    Comparison("city", (_jw("jaro_winkler_0.9", 0.9),)),
    Comparison("postcode", (_edits("one_edit", 1),)),
    Comparison("phone", (_edits("one_edit", 1),)),
    Comparison("email", (_edits("one_edit", 1),)),
    Comparison("national_id", (_edits("one_edit", 1),)),
)
"""The comparisons of person records, in the order of the columns of a level matrix."""


def level_matrix(left: pl.DataFrame, right: pl.DataFrame, comparisons: Sequence[Comparison]) -> np.ndarray:
    """Levels (pairs x comparisons, int8) of aligned left/right frames of match columns."""
    columns = [c.levels(left[c.column], right[c.column]) for c in comparisons]
    return np.column_stack(columns) if columns else np.empty((len(left), 0), dtype=np.int8)
