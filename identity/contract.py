"""The identity input contract: any table of person records, read into the engine's record shape.

A file (CSV or Parquet) holds one row per record: `record_id` (required, unique), `source`, any of
the strong identifiers and any of the attributes below (`national_id`, a government id such as an
SSN, is compared but never linked on or shown); `seen_at` (when the record was last true)
orders survivorship when present. Unknown columns are ignored, missing ones are null, so a CRM
export, a FEBRL file or the lakehouse's own records all resolve the same way.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from core.errors import InvalidInputError
from identity.normalize import IDENTIFIER_KINDS
from identity.records import ATTRIBUTES, MATCH_ONLY, RECORD_COLUMNS, text_column
from identity.resolve import customer_id_for

CONTRACT_IDENTIFIERS = IDENTIFIER_KINDS
OUTPUT_COLUMNS = ("record_id", "customer_id", "confidence")


def read_input(path: Path) -> pl.DataFrame:
    """Read a contract file into records (see `identity.records`); a clear error for what cannot be used."""
    if not path.exists():
        raise InvalidInputError(f"input file {path} does not exist")
    if path.suffix.lower() == ".csv":
        frame = pl.read_csv(path, infer_schema=False)  # every column as text: ids keep their leading zeros
    elif path.suffix.lower() == ".parquet":
        frame = pl.read_parquet(path)
    else:
        raise InvalidInputError(f"input file {path} must end in .csv or .parquet")
    return contract_records(frame, origin=str(path))


def contract_records(frame: pl.DataFrame, *, origin: str = "input") -> pl.DataFrame:
    """Records in the engine's shape from a contract frame; raises InvalidInputError on a bad `record_id`."""
    if "record_id" not in frame.columns:
        raise InvalidInputError(f"{origin} has no record_id column (columns: {', '.join(frame.columns)})")
    ids = frame["record_id"].cast(pl.String)
    empty = (ids.str.strip_chars().fill_null("") == "").sum()
    if empty:
        raise InvalidInputError(f"{origin}: record_id is empty on {empty} rows")
    duplicated = ids.filter(ids.is_duplicated()).unique().sort().head(3).to_list()
    if duplicated:
        raise InvalidInputError(f"{origin}: record_id values repeat, for example {duplicated}")
    columns = {name: _text_column(frame, name) for name in (*ATTRIBUTES, *MATCH_ONLY, *CONTRACT_IDENTIFIERS)}
    seen_at = (
        frame["seen_at"].cast(pl.String).str.to_datetime(time_zone="UTC", strict=False)
        if "seen_at" in frame.columns
        else pl.Series("seen_at", [None] * len(frame), pl.Datetime("us", "UTC"))
    )
    source = _text_column(frame, "source").fill_null("input")
    records = pl.DataFrame({"record_id": ids, "source": source, "record_key": ids, "seen_at": seen_at, **columns})
    return records.select(*RECORD_COLUMNS, *MATCH_ONLY, "user_id", "device_id", "marketplace_buyer_id")


def _text_column(frame: pl.DataFrame, name: str) -> pl.Series:
    """A column as stripped text, blanks as missing."""
    column = text_column(frame, name).str.strip_chars()
    return column.set(column == "", None).alias(name)


def assignments(records: pl.DataFrame, membership: pl.DataFrame) -> pl.DataFrame:
    """`record_id, customer_id, confidence` for every input record, in input order.

    A record that joined no customer (nothing to link it by) is a customer of its own, with full
    confidence: nothing suggests anyone else.
    """
    ids = records.select("record_id").unique(maintain_order=True)
    joined = ids.join(membership, on="record_id", how="left", maintain_order="left")
    pairs = zip(joined["record_id"].to_list(), joined["customer_id"].to_list(), strict=True)
    customers = [customer or customer_id_for(record) for record, customer in pairs]
    return joined.with_columns(
        pl.Series("customer_id", customers, pl.String), pl.col("confidence").fill_null(1.0).round(4)
    ).select(OUTPUT_COLUMNS)
