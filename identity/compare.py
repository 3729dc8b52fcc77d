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
Similarity = Callable[..., float]


def _similarity(scorer: Similarity, left: list[str], right: list[str]) -> np.ndarray:
    return process.cpdist(left, right, scorer=scorer, workers=-1)


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
        out = np.full(len(left), len(self.labels) - 1, dtype=np.int8)
        present = (left.is_not_null() & right.is_not_null()).to_numpy()
        out[~present] = NULL_LEVEL
        exact = (left == right).fill_null(False).to_numpy()
        out[exact] = 0
        todo = np.flatnonzero(present & ~exact)
        if len(todo):
            # Each distinct pair of values is scored once: cities, postcodes and dates repeat a lot.
            pairs = pl.DataFrame({"left": left.gather(todo), "right": right.gather(todo)})
            distinct = pairs.unique()
            levels = self.inexact_levels(distinct["left"].to_list(), distinct["right"].to_list())
            scored = distinct.with_columns(pl.Series("level", levels))
            out[todo] = pairs.join(scored, on=["left", "right"], how="left", maintain_order="left")["level"].to_numpy()
        return out

    def inexact_levels(self, left: list[str], right: list[str]) -> np.ndarray:
        """Levels of pairs of present, unequal values: the first step each pair reaches, else the last level."""
        out = np.full(len(left), len(self.labels) - 1, dtype=np.int8)
        todo = np.arange(len(left))
        for number, (_, scorer, bound, distance) in enumerate(self.steps, start=1):
            if not len(todo):
                break
            score = _similarity(scorer, [left[i] for i in todo], [right[i] for i in todo])
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
