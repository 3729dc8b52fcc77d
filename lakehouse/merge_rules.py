"""What a merge does to the rows it finds: the upsert, delete and SCD Type 2 rules.

A rule sees the incoming rows once, then, file by file, the table rows that match its keys; for
each file it names the rows that leave (by their `__row` index) and the rows that replace them,
and at the end the rows to insert. Rules are pure Arrow/Polars; `lakehouse.merge` does the I/O.
"""

from __future__ import annotations

import functools

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from lakehouse.query import to_frame

ROW_INDEX = "__row"
_EXISTING = "__existing"
_VERSION = "__version"


def key_column(rows: pa.Table, key: tuple[str, ...]) -> pa.Array:
    """One array identifying each row's key: the column itself, or a joined string for composite keys."""
    if len(key) == 1:
        return rows.column(key[0]).combine_chunks()
    parts = [pc.fill_null(pc.cast(rows.column(name), pa.large_string()), "\x00") for name in key]
    joined = pc.binary_join_element_wise(*parts, pa.scalar("\x1f", pa.large_string()))
    return joined.combine_chunks() if isinstance(joined, pa.ChunkedArray) else joined


def _last_per_key(rows: pa.Table, key: list[str]) -> pa.Table:
    """Keep the last row of each key, in input order (later rows win).

    Batches from a source rarely repeat a key, so a distinct count decides first whether the
    (much dearer) de-duplication has anything to do; `unique` is several times faster than
    `count_distinct` here.
    """
    if len(rows) == 0 or len(pc.unique(key_column(rows, tuple(key)))) == len(rows):
        return rows
    return to_frame(rows).unique(subset=key, keep="last", maintain_order=True).to_arrow()


def _changed(joined: pl.DataFrame, columns: list[str], suffix: str) -> pl.Expr:
    """True where any of `columns` differs (null-aware) between the left and the suffixed right side."""
    if not columns:
        return pl.lit(False)
    return pl.any_horizontal([pl.col(c).ne_missing(pl.col(c + suffix)) for c in columns])


class MergeRule:
    """Base rule: matches table rows whose key is among the incoming keys."""

    def __init__(self, incoming: pa.Table, key: tuple[str, ...]):
        self.key = key
        self.incoming = incoming
        self._keys = pc.unique(key_column(incoming, key)) if len(incoming) else pa.array([], pa.large_string())
        self.rows_written = 0
        self.prune_by: tuple[str, ...] = ()

    @property
    def probe_columns(self) -> tuple[str, ...]:
        """Columns read from every candidate file to find the files holding a key."""
        return self.key

    def incoming_keys_of(self, name: str) -> pa.ChunkedArray:
        """The incoming values of one key column (for the key-range conflict filter)."""
        return self.incoming.column(name)

    def match(self, rows: pa.Table) -> pa.Array:
        """Which table rows the rule is about."""
        return pc.fill_null(pc.is_in(key_column(rows, self.key), value_set=self._keys), False)

    def decide(self, matched: pa.Table) -> tuple[pa.Array, pa.Table]:
        """For one file's matched rows: the `__row` indexes leaving and the rows replacing them."""
        raise NotImplementedError

    def finalize(self) -> pa.Table:
        """Rows to insert after every file was seen."""
        return self.incoming.slice(0, 0)

    def details(self) -> dict[str, int]:
        """Counts for the write result."""
        return {}


class DeleteRule(MergeRule):
    """Remove every matching row."""

    def __init__(self, keys: pa.Table, key: tuple[str, ...]):
        super().__init__(keys, key)

    def decide(self, matched: pa.Table) -> tuple[pa.Array, pa.Table]:
        return matched.column(ROW_INDEX).combine_chunks(), matched.slice(0, 0)


class MarkRule(MergeRule):
    """Set columns to fixed values on every matching row that does not have them yet (a soft delete)."""

    def __init__(self, keys: pa.Table, key: tuple[str, ...], assignments: dict[str, object]):
        super().__init__(keys, key)
        self.assignments = assignments

    def decide(self, matched: pa.Table) -> tuple[pa.Array, pa.Table]:
        frame = to_frame(matched)
        differs = pl.any_horizontal([pl.col(c).ne_missing(pl.lit(v)) for c, v in self.assignments.items()])
        changed = frame.filter(differs)
        replacement = changed.drop(ROW_INDEX).with_columns(
            *[pl.lit(v).cast(frame.schema[c]).alias(c) for c, v in self.assignments.items()]
        )
        self.rows_written += len(replacement)
        return changed.get_column(ROW_INDEX).to_arrow().cast(pa.int64()), replacement.to_arrow()


class UpsertRule(MergeRule):
    """Replace changed rows, insert new keys, leave unchanged rows (and their files) alone."""

    def __init__(
        self,
        incoming: pa.Table,
        key: tuple[str, ...],
        *,
        ignore_columns: tuple[str, ...] = (),
        prune_by: tuple[str, ...] = (),
    ):
        super().__init__(_last_per_key(incoming, list(key)), key)
        self.prune_by = prune_by
        self._compare = [c for c in self.incoming.column_names if c not in key and c not in ignore_columns]
        self._seen: list[pa.Array] = []
        self.updated = 0
        self.inserted = 0

    @functools.cached_property
    def _incoming_frame(self) -> pl.DataFrame:
        """The incoming rows as a frame, built only once a file holds one of their keys."""
        return to_frame(self.incoming.select([*self.key, *self._compare]))

    def decide(self, matched: pa.Table) -> tuple[pa.Array, pa.Table]:
        existing = to_frame(matched.select([*self.key, *self._compare, ROW_INDEX]))
        joined = existing.join(self._incoming_frame, on=list(self.key), how="inner", suffix="__in")
        changed = joined.filter(_changed(joined, self._compare, "__in")).to_arrow()
        self._seen.append(key_column(matched, self.key))
        changed_keys = key_column(changed, self.key)
        replacement = self.incoming.filter(pc.is_in(key_column(self.incoming, self.key), value_set=changed_keys))
        self.updated += len(replacement)
        self.rows_written += len(replacement)
        return changed.column(ROW_INDEX).combine_chunks().cast(pa.int64()), replacement

    def finalize(self) -> pa.Table:
        keys = key_column(self.incoming, self.key)
        if self._seen:
            seen = pa.concat_arrays([a.cast(keys.type) for a in self._seen])
            inserts = self.incoming.filter(pc.invert(pc.is_in(keys, value_set=seen)))
        else:
            inserts = self.incoming
        self.inserted = len(inserts)
        return inserts

    def details(self) -> dict[str, int]:
        return {"updated": self.updated, "inserted": self.inserted}


class Scd2Rule(MergeRule):
    """Type 2 history: a changed hash closes the current version and opens a new one."""

    def __init__(
        self,
        incoming: pa.Table,
        key: str,
        *,
        columns: tuple[str, str, str, str],
        ignore_columns: tuple[str, ...] = (),
    ):
        self.valid_from, self.valid_to, self.is_current, self.hash = columns
        deduped = _last_per_key(incoming, [key, self.valid_from])
        super().__init__(deduped.sort_by([(key, "ascending"), (self.valid_from, "ascending")]), (key,))
        self._ignore = set(ignore_columns)
        self._handled: list[pa.Array] = []
        self.closed = 0

    @property
    def probe_columns(self) -> tuple[str, ...]:
        return (*self.key, self.is_current)

    def match(self, rows: pa.Table) -> pa.Array:
        current = pc.fill_null(rows.column(self.is_current), False)
        return pc.and_(super().match(rows), current)

    def decide(self, matched: pa.Table) -> tuple[pa.Array, pa.Table]:
        if len(matched) == 0:
            return pa.array([], pa.int64()), matched.slice(0, 0)
        self._handled.append(key_column(matched, self.key))
        versions = self._versions(matched.drop_columns([ROW_INDEX]))
        replaced = versions.filter(pl.col(_EXISTING))
        new_versions = versions.filter(~pl.col(_EXISTING)).drop(_EXISTING)
        current = to_frame(matched)
        compare = [c for c in matched.column_names if c not in self._ignore and c not in (*self.key, ROW_INDEX)]
        joined = current.join(replaced, on=list(self.key), how="inner", suffix="__new")
        changed = joined.filter(_changed(joined, compare, "__new"))
        removed = changed.get_column(ROW_INDEX).to_arrow().cast(pa.int64())
        updated = replaced.join(changed.select(list(self.key)), on=list(self.key), how="semi").drop(_EXISTING)
        self.closed += int(updated.get_column(self.is_current).not_().sum())
        replacement = pl.concat([updated, new_versions], how="vertical_relaxed")
        self.rows_written += len(replacement)
        return removed, replacement.to_arrow()

    def finalize(self) -> pa.Table:
        handled = pa.concat_arrays(self._handled) if self._handled else None
        fresh = self.incoming
        if handled is not None:
            fresh = fresh.filter(pc.invert(pc.is_in(key_column(fresh, self.key), value_set=handled)))
        if not len(fresh):
            return fresh
        return self._versions(fresh.slice(0, 0), fresh).drop(_EXISTING).to_arrow()

    def details(self) -> dict[str, int]:
        return {"versions_closed": self.closed}

    def _versions(self, current: pa.Table, incoming: pa.Table | None = None) -> pl.DataFrame:
        """Versions per key from the current row (if any) and newer incoming states.

        1. drop incoming states not newer than the key's current version (reruns, overlaps);
        2. a state whose hash equals the previous one's only updates that version in place;
        3. each version takes its first valid_from and its last state's other values;
        4. valid_to is the next version's valid_from; the last version is current.
        """
        key = self.key[0]
        frame = to_frame(incoming if incoming is not None else self._incoming_for(current))
        cur = to_frame(current).with_columns(pl.lit(True).alias(_EXISTING))
        frame = frame.with_columns(pl.lit(False).alias(_EXISTING))
        latest = cur.select(key, pl.col(self.valid_from).alias("__cur_from"))
        frame = frame.join(latest, on=key, how="left")
        frame = frame.filter(pl.col("__cur_from").is_null() | (pl.col(self.valid_from) > pl.col("__cur_from")))
        seq = pl.concat([cur, frame.drop("__cur_from").select(cur.columns)], how="vertical_relaxed")
        seq = seq.sort([key, self.valid_from, _EXISTING], descending=[False, False, True])
        new_version = pl.col(self.hash).ne_missing(pl.col(self.hash).shift(1).over(key)).fill_null(True)
        seq = seq.with_columns(new_version.cast(pl.Int64).cum_sum().over(key).alias(_VERSION))
        others = [c for c in seq.columns if c not in (key, _VERSION, self.valid_from, _EXISTING)]
        versions = seq.group_by([key, _VERSION], maintain_order=True).agg(
            pl.col(self.valid_from).first(), pl.col(_EXISTING).first(), *[pl.col(c).last() for c in others]
        )
        next_from = pl.col(self.valid_from).shift(-1).over(key)
        versions = versions.with_columns(next_from.alias(self.valid_to)).with_columns(
            pl.col(self.valid_to).is_null().alias(self.is_current)
        )
        return versions.drop(_VERSION).select([*self.incoming.column_names, _EXISTING])

    def _incoming_for(self, current: pa.Table) -> pa.Table:
        keys = key_column(current, self.key)
        return self.incoming.filter(pc.is_in(key_column(self.incoming, self.key), value_set=keys))
