"""Typing untyped source values, with a reason for every value that does not fit.

Columns are cast whole (fast); only a column whose cast fails is walked value by value to find the
bad rows, so clean batches pay nothing for the error path.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

INVALID_TYPE = "invalid_type"
MISSING_FIELD = "missing_field"
INVALID_JSON = "invalid_json"
INVALID_VALUE = "invalid_value"
UNKNOWN_TYPE = "unknown_event_type"
OVERSIZE = "oversize"
FUTURE_TIMESTAMP = "future_timestamp"


@dataclass(frozen=True)
class Rejection:
    """Why one record of a batch cannot be loaded."""

    index: int
    reason_code: str
    column: str | None
    message: str


def blank_to_null(values: pa.ChunkedArray | pa.Array) -> pa.Array:
    """Empty or whitespace-only strings become null; other strings are stripped (for typed targets)."""
    array = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    stripped = pc.utf8_trim_whitespace(array)
    return pc.if_else(pc.equal(stripped, ""), pa.scalar(None, stripped.type), stripped)


def _as_text(values: pa.ChunkedArray | pa.Array, empty_is_null: bool) -> pa.Array:
    """Text kept exactly as the source wrote it; only an empty field means null when the format says so."""
    array = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    if not empty_is_null:
        return array
    return pc.if_else(pc.equal(array, ""), pa.scalar(None, array.type), array)


def cast_strings(values: pa.Array, target: pa.DataType) -> tuple[pa.Array, list[tuple[int, str]]]:
    """Cast string values to `target`; bad values become null and are returned as (index, message)."""
    try:
        return _cast(values, target), []
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    typed: list[object] = []
    bad: list[tuple[int, str]] = []
    for index, value in enumerate(values.to_pylist()):
        if value is None:
            typed.append(None)
            continue
        try:
            typed.append(_cast(pa.array([value], pa.string()), target)[0].as_py())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            typed.append(None)
            bad.append((index, f"value is not a valid {target}"))
    return pa.array(typed, target), bad


def _cast_or_text(values: pa.Array, text: pa.Array, target: pa.DataType) -> tuple[pa.Array, list[tuple[int, str]]]:
    """A typed column cast to `target` in one go (a widening, say); else its text parsed value by value."""
    if not _is_text(values.type):
        try:
            return values.cast(target), []
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
    return cast_strings(blank_to_null(text), target)


def _is_text(kind: pa.DataType) -> bool:
    return pa.types.is_string(kind) or pa.types.is_large_string(kind)


_BOOLEAN_WORDS = {"t": "true", "f": "false", "y": "true", "n": "false", "yes": "true", "no": "false"}


def _cast(values: pa.Array, target: pa.DataType) -> pa.Array:
    """Arrow's cast, reading zone-less timestamps as UTC (the sources store UTC) and PostgreSQL's t/f."""
    if pa.types.is_boolean(target):
        lowered = pc.utf8_lower(values)
        for word, canonical in _BOOLEAN_WORDS.items():
            lowered = pc.if_else(pc.equal(lowered, word), canonical, lowered)
        return lowered.cast(target)
    if pa.types.is_timestamp(target) and target.tz is not None:
        try:
            return values.cast(target)
        except pa.ArrowInvalid:
            naive = values.cast(pa.timestamp(target.unit))
            return pc.assume_timezone(naive, target.tz)
    return values.cast(target)


def type_columns(
    batch: pa.Table, target: pa.Schema, required: frozenset[str], *, empty_is_null: bool = True
) -> tuple[pa.Table, list[Rejection]]:
    """Type a batch to `target`: text columns are parsed, already-typed columns cast where they fit.

    Text columns keep their values as written (an empty field is null when `empty_is_null`, as in
    CSV exports; COPY marks NULL itself); other text is trimmed and cast. A column already of the
    target type passes as it is; one of another type is cast, value by value where that fails.
    Columns of the batch that `target` lacks pass through; target columns the batch lacks become
    null. Returns the good rows and one rejection (the first problem found) per bad row.
    """
    rejected: dict[int, Rejection] = {}
    columns: dict[str, pa.Array] = {}
    for field in target:
        values = batch.column(field.name).combine_chunks() if field.name in batch.column_names else None
        if values is None:
            typed = pa.nulls(len(batch), field.type)
        elif values.type == field.type and not _is_text(field.type):
            typed = values
        elif _is_text(values.type) and _is_text(field.type):
            typed = _as_text(values, empty_is_null)
        else:
            text = values if _is_text(values.type) else values.cast(pa.string())
            typed, bad = _cast_or_text(values, text, field.type)
            for index, message in bad:
                rejected.setdefault(index, Rejection(index, INVALID_TYPE, field.name, message))
        if field.name in required:
            for index in pc.indices_nonzero(pc.is_null(typed)).to_pylist():
                rejected.setdefault(index, Rejection(index, MISSING_FIELD, field.name, f"{field.name} is required"))
        columns[field.name] = typed
    for name in batch.column_names:
        if name not in columns:
            values = batch.column(name).combine_chunks()
            columns[name] = _as_text(values, empty_is_null) if _is_text(values.type) else values
    typed_batch = pa.table(columns)
    if not rejected:
        return typed_batch, []
    keep = pa.array([i not in rejected for i in range(len(batch))])
    return typed_batch.filter(keep), sorted(rejected.values(), key=lambda r: r.index)
