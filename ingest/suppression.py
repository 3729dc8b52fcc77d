"""Dropping records of erased data subjects before they land again (batch and stream alike).

Ingestion knows where each source keeps its identifiers; it hands them, raw, to a `Suppressor`
(the privacy layer's, which normalises and hashes them and holds the erased subjects' hashes).
A dropped record is counted, never written: not to raw, not to the quarantine, not to a log.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Protocol

import polars as pl
import pyarrow as pa

from ingest.marketplace import MappingError, parse_document
from ingest.quarantine import QuarantinedRecord

IDENTIFIER_COLUMNS = ("email", "phone", "loyalty_id", "user_id", "device_id")
COUNTRY_COLUMNS = ("country", "ship_country")  # where a record says which country its phone is read in
CANDIDATES = {"row": pl.Int64, "kind": pl.String, "value": pl.String, "country": pl.String}


class Suppressor(Protocol):
    """Which records carry an erased subject's identifier."""

    def active(self) -> bool:
        """True when any subject is suppressed; until then batches are not even looked at. Asked before
        `hits` for every batch, so an implementation may take in list changes here."""
        ...

    def hits(self, candidates: pl.DataFrame) -> set[int]:
        """The `row` numbers of `candidates` (row, kind, raw value, and the record's country when the
        source says it, else null) whose value is suppressed."""
        ...


def table_identifiers(rows: pa.Table) -> pl.DataFrame:
    """(row, kind, value, country) of the identifier columns a source table carries (accounts, orders)."""
    present = [c for c in IDENTIFIER_COLUMNS if c in rows.column_names]
    if not present or not len(rows):
        return pl.DataFrame(schema=CANDIDATES)
    country = next((rows.column(c).cast(pa.string()) for c in COUNTRY_COLUMNS if c in rows.column_names), None)
    frame = pl.DataFrame({c: rows.column(c).cast(pa.string()) for c in present}).with_row_index("row")
    frame = frame.with_columns(
        country=pl.Series(country, dtype=pl.String) if country is not None else pl.lit(None, pl.String)
    )
    long = frame.unpivot(index=["row", "country"], on=present, variable_name="kind", value_name="value")
    return long.drop_nulls("value").select(pl.col("row").cast(pl.Int64), "kind", "value", "country")


def event_identifiers(rows: pa.Table) -> pl.DataFrame:
    """(row, kind, value) of the account and device each raw event's JSON payload names."""
    payload = pl.Series(rows.column("payload").to_pylist(), dtype=pl.String)
    frame = pl.DataFrame({"payload": payload}).with_row_index("row")
    fields = frame.select(
        pl.col("row").cast(pl.Int64),
        pl.col("payload").str.json_path_match("$.user_id").alias("user_id"),
        pl.col("payload").str.json_path_match("$.device_id").alias("device_id"),
    )
    long = fields.unpivot(index="row", variable_name="kind", value_name="value").drop_nulls("value")
    return long.with_columns(country=pl.lit(None, pl.String))


def document_identifiers(rows: pa.Table) -> pl.DataFrame:
    """(row, kind, value, country) of the buyer's e-mail, phone and marketplace id in each marketplace document."""
    found: list[tuple[int, str, str, str | None]] = []
    for row, text in enumerate(rows.column("document").to_pylist()):
        try:
            order = parse_document(text if isinstance(text, str) else json.dumps(text, default=str))
        except MappingError:
            continue  # the conformer quarantines it; nothing readable to match on
        for kind, value in (
            ("email", order.buyer_email),
            ("phone", order.phone),
            ("marketplace_buyer_id", order.buyer_id),
        ):
            if value:
                found.append((row, kind, value, order.country))
    return pl.DataFrame(found, schema=CANDIDATES, orient="row")


EMAIL = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"
PHONE = r"\+?\d[\d\s().-]{6,}\d"


def text_identifiers(texts: list[str]) -> pl.DataFrame:
    """(row, kind, value) found in free text a source could not parse: e-mail and phone shapes, and the
    account and device of a JSON line."""
    frame = pl.DataFrame({"text": pl.Series(texts, dtype=pl.String)}).with_row_index("row")
    found = frame.select(
        pl.col("row").cast(pl.Int64),
        pl.col("text").str.extract_all(EMAIL).alias("email"),
        pl.col("text").str.extract_all(PHONE).alias("phone"),
        pl.concat_list(pl.col("text").str.json_path_match("$.user_id")).alias("user_id"),
        pl.concat_list(pl.col("text").str.json_path_match("$.device_id")).alias("device_id"),
    )
    long = found.unpivot(index="row", variable_name="kind", value_name="value").explode("value")
    return long.drop_nulls("value").with_columns(country=pl.lit(None, pl.String))


def identifiers_of(rows: pa.Table) -> pl.DataFrame:
    """The identifiers a batch of any source carries, by its shape: documents, event payloads or columns."""
    if "document" in rows.column_names:
        return document_identifiers(rows)
    if "payload" in rows.column_names:
        return event_identifiers(rows)
    return table_identifiers(rows)


def without_suppressed(
    rows: pa.Table, suppressor: Suppressor | None, identifiers: Callable[[pa.Table], pl.DataFrame] = identifiers_of
) -> tuple[pa.Table, int]:
    """The rows no erased subject's identifier is in, and how many were dropped."""
    if suppressor is None or not len(rows) or not suppressor.active():
        return rows, 0
    dropped = suppressor.hits(identifiers(rows))
    if not dropped:
        return rows, 0
    keep = pa.array([i not in dropped for i in range(len(rows))])
    return rows.filter(keep), len(dropped)


def refusals_without_suppressed(
    refused: list[QuarantinedRecord], suppressor: Suppressor | None
) -> tuple[list[QuarantinedRecord], int]:
    """Records a source could not parse, less those carrying an erased subject's identifier (not quarantined)."""
    if suppressor is None or not refused or not suppressor.active():
        return refused, 0
    texts = [r.payload if isinstance(r.payload, str) else json.dumps(r.payload, default=str) for r in refused]
    dropped = suppressor.hits(text_identifiers(texts))
    return [r for i, r in enumerate(refused) if i not in dropped], len(dropped)
