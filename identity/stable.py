"""Stable customer ids across recomputation: maximum-overlap mapping, with merges and splits recorded.

A rebuild resolves from scratch, so its clusters carry provisional ids. Each of last build's ids
goes to the new cluster sharing most of its records (largest overlaps first, each id and each
cluster used once), so a customer keeps its id while its cluster persists. What changed is
recorded: an old id whose records now sit in another customer was `merged` into it; an old id
whose records went to several customers was `split`; `redirects` says where each retired id
points now (for the API to answer an old id with its current customer or customers).
"""

from __future__ import annotations

import polars as pl

from identity.resolve import customer_id_for


def carry_over(previous: pl.DataFrame, current: pl.DataFrame) -> tuple[dict[str, str], pl.DataFrame]:
    """Final id per provisional id of `current`, and the id changes since `previous`.

    Both frames hold (record_id, customer_id). The changes frame has old_customer_id,
    new_customer_id, change (`merged` or `split`) and records (how many moved).
    """
    overlaps = (
        current.join(previous, on="record_id", suffix="_old")
        .group_by("customer_id", "customer_id_old")
        .agg(pl.len().alias("records"))
        .sort(["records", "customer_id_old", "customer_id"], descending=[True, False, False])
    )
    # 1. largest overlaps first: each old id to one new cluster, each new cluster one old id.
    final: dict[str, str] = {}
    taken: set[str] = set()
    for new, old, _ in overlaps.iter_rows():
        if new not in final and old not in taken:
            final[new] = old
            taken.add(old)
    # 2. clusters with no old id keep their provisional id, unless it already names someone else.
    used = taken | set(previous["customer_id"].unique().to_list())
    for new in current["customer_id"].unique().sort().to_list():
        if new not in final:
            candidate, attempt = new, 0
            while candidate in used:
                attempt += 1
                candidate = customer_id_for(f"{new}:{attempt}")
            final[new] = candidate
            used.add(candidate)
    return final, _changes(overlaps, final)


def _changes(overlaps: pl.DataFrame, final: dict[str, str]) -> pl.DataFrame:
    """Where the records of each old id went, when not all to the customer that kept it."""
    now = pl.col("customer_id").replace_strict(final, return_dtype=pl.String)
    moved = overlaps.with_columns(now.alias("new_customer_id")).filter(
        pl.col("new_customer_id") != pl.col("customer_id_old")
    )
    kept = pl.col("customer_id_old").is_in(list(set(final.values())))
    single = pl.col("new_customer_id").n_unique().over("customer_id_old") == 1
    change = pl.when(~kept & single).then(pl.lit("merged")).otherwise(pl.lit("split"))
    return moved.select(
        pl.col("customer_id_old").alias("old_customer_id"),
        "new_customer_id",
        change.alias("change"),
        pl.col("records").cast(pl.Int64),
    ).sort("old_customer_id", "new_customer_id")


def redirects(changes: pl.DataFrame, current_ids: set[str]) -> dict[str, list[str]]:
    """Old ids that no longer name a customer, each with the current customer(s) its records are in.

    `changes` may span many builds: a chain (C-1 merged into C-2, later split into C-3 and C-4) is
    followed to the ids that exist now.
    """
    moves: dict[str, set[str]] = {}
    for old, new in changes.select("old_customer_id", "new_customer_id").iter_rows():
        moves.setdefault(old, set()).add(new)
    resolved: dict[str, list[str]] = {}
    for old in moves.keys() - current_ids:
        # 1. walk the moves from the old id; 2. keep the current ids reached (cycles stop at seen ids)
        seen, frontier, reached = {old}, [old], set()
        while frontier:
            for new in moves.get(frontier.pop(), ()):
                if new in current_ids:
                    reached.add(new)
                elif new not in seen:
                    seen.add(new)
                    frontier.append(new)
        if reached:
            resolved[old] = sorted(reached)
    return resolved
