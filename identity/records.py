"""Identity records: what each conformed row says about a person, as plain frames.

A record is one source row that describes someone (a user account, an order, a device seen
logging in); it carries identifiers (normalised here, once) and attributes for survivorship.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl
import pyarrow as pa

from identity.address import normalize_street
from identity.normalize import (
    canonical_first_name,
    is_relay_email,
    normalize_device_id,
    normalize_email,
    normalize_identifier,
    normalize_loyalty_id,
    normalize_name,
    normalize_phone,
    normalize_postcode,
    normalize_user_id,
    phone_region,
)
from lakehouse.query import to_frame

# Internal link key (never looked up through the API): see `_name_address`.
NAME_ADDRESS = "name_address"
ATTRIBUTES = ("first_name", "last_name", "email", "phone", "dob", "street", "city", "postcode", "country", "loyalty_id")
# Compared, never shown or linked on: a government id (SSN, NI number) that some inputs carry.
MATCH_ONLY = ("national_id",)
RECORD_COLUMNS = ("record_id", "source", "record_key", "seen_at", *ATTRIBUTES)
# Joins a typed phone to its region in one value, so each (number, region) pair is parsed once.
_REGION_SEPARATOR = "\x1f"
# What `normalize_phone` treats as layout (ASCII only: polars' regexes read \s and \d as Unicode).
_PHONE_SEPARATORS = r"[ ().\-]"
_PLAIN_PHONE = r"^[0-9 ().+\-]+$"
_PHONE_DIGITS = r"^\+?[0-9]+$"
# The source of (device, account) records: a device seen signed in to an account.
DEVICE_SOURCE = "devices"
# Lower ranks win survivorship ties and anchor customer ids: an account beats an order beats a device.
SOURCE_RANK = {"users": 0, "orders": 1, DEVICE_SOURCE: 2}


def _text(name: str) -> pl.Expr:
    return pl.col(name).cast(pl.String)


def user_records(users: pa.Table) -> pl.DataFrame:
    """One record per user account; every SCD2 version contributes identifiers, the latest its attributes."""
    frame = to_frame(users).sort("valid_from")
    return frame.select(
        pl.concat_str(pl.lit("users:"), _text("user_id")).alias("record_id"),
        pl.lit("users").alias("source"),
        _text("user_id").alias("record_key"),
        pl.col("updated_at").alias("seen_at"),
        *[_text(a) for a in ATTRIBUTES],
        _text("user_id").alias("user_id"),
        pl.lit(None, pl.String).alias("device_id"),
        pl.lit(None, pl.String).alias("marketplace_buyer_id"),
    )


def order_records(orders: pa.Table, stores: pa.Table) -> pl.DataFrame:
    """One record per order: the identifiers typed at checkout, the till or the marketplace.

    A till order's country is its store's, so a phone typed at a British till is read as British.
    """
    latest = to_frame(stores).sort("updated_at").unique(subset="store_id", keep="last")
    countries = latest.select("store_id", pl.col("country").alias("store_country"))
    frame = to_frame(orders).join(countries, on="store_id", how="left", maintain_order="left")
    first, last = _split_name(pl.col("buyer_name"))
    return frame.select(
        pl.concat_str(pl.lit("orders:"), pl.col("order_id")).alias("record_id"),
        pl.lit("orders").alias("source"),
        pl.col("order_id").alias("record_key"),
        pl.col("updated_at").alias("seen_at"),
        first.alias("first_name"),
        last.alias("last_name"),
        _text("email"),
        _text("phone"),
        pl.lit(None, pl.Date).alias("dob"),
        pl.col("ship_street").alias("street"),
        pl.col("ship_city").alias("city"),
        pl.col("ship_postcode").alias("postcode"),
        pl.coalesce("ship_country", "store_country").alias("country"),
        _text("loyalty_id"),
        _text("user_id").alias("user_id"),
        _text("device_id"),
        _text("marketplace_buyer_id"),
    )


def device_records(events: pa.Table) -> pl.DataFrame:
    """One record per (device, user) pair seen in events; anonymous devices have no user."""
    frame = to_frame(events).filter(pl.col("device_id").is_not_null())
    pairs = frame.group_by("device_id", "user_id").agg(pl.col("event_ts").max().alias("seen_at"))
    key = pl.concat_str(pl.col("device_id"), pl.lit("|"), _text("user_id").fill_null("anonymous"))
    nulls = [pl.lit(None, pl.String).alias(a) for a in ATTRIBUTES if a != "dob"]
    return pairs.select(
        pl.concat_str(pl.lit("devices:"), key).alias("record_id"),
        pl.lit(DEVICE_SOURCE).alias("source"),
        key.alias("record_key"),
        "seen_at",
        *nulls,
        pl.lit(None, pl.Date).alias("dob"),
        _text("user_id").alias("user_id"),
        pl.col("device_id"),
        pl.lit(None, pl.String).alias("marketplace_buyer_id"),
    ).select(*RECORD_COLUMNS, "user_id", "device_id", "marketplace_buyer_id")


def _split_name(full: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """First and last name from a 'First Last' string (marketplace buyers give one field)."""
    parts = full.str.strip_chars().str.split(" ")
    return parts.list.first(), pl.when(parts.list.len() > 1).then(parts.list.last()).otherwise(None)


def identifiers(records: pl.DataFrame, *, default_region: str) -> pl.DataFrame:
    """Long table (record_id, kind, value) of normalised identifiers; relay e-mails are not identifiers."""
    normalisers: dict[str, Callable[[str], str | None]] = {
        "email": lambda v: None if is_relay_email(v) else normalize_email(v),
        "loyalty_id": normalize_loyalty_id,
        "user_id": normalize_user_id,
        "device_id": normalize_device_id,
        "marketplace_buyer_id": lambda v: normalize_identifier("marketplace_buyer_id", v),
    }
    parts = []
    for kind, normaliser in normalisers.items():
        column = records.select("record_id", pl.col(kind).cast(pl.String).alias("raw")).filter(
            pl.col("raw").is_not_null()
        )
        value = map_distinct(column["raw"], normaliser).alias("value")
        parts.append(column.with_columns(value, pl.lit(kind).alias("kind")))
    phones = record_phones(records, default_region=default_region).alias("value")
    parts.append(records.select("record_id", phones, pl.lit("phone").alias("kind")))
    parts.append(_name_address(records))
    found = pl.concat(parts, how="diagonal").filter(pl.col("value").is_not_null())
    return found.select("record_id", "kind", "value").unique(maintain_order=True)


def _name_address(records: pl.DataFrame) -> pl.DataFrame:
    """The `name_address` identifier of records that carry a full name and a full address."""
    rows = records.filter(pl.all_horizontal(pl.col("first_name", "last_name", "street", "postcode").is_not_null()))
    key = pl.concat_str(list(name_and_address(rows).values()), separator="|")  # null when a part normalises to nothing
    return rows.select("record_id", key.alias("value"), pl.lit(NAME_ADDRESS).alias("kind"))


def text_column(records: pl.DataFrame, name: str) -> pl.Series:
    """A column as text; all null when the input does not carry it."""
    if name not in records.columns:
        return pl.Series(name, [None] * len(records), pl.String)
    return records[name].cast(pl.String)


def name_and_address(records: pl.DataFrame) -> dict[str, pl.Series]:
    """first (nicknames mapped), last, street and postcode (for its country), normalised for comparison."""
    country = text_column(records, "country").fill_null("")
    postcodes = pl.select(pl.concat_str(text_column(records, "postcode"), country, separator="|")).to_series()
    return {
        "first": map_distinct(text_column(records, "first_name"), canonical_first_name),
        "last": map_distinct(text_column(records, "last_name"), normalize_name),
        "street": map_distinct(text_column(records, "street"), normalize_street),
        "postcode": map_distinct(postcodes, lambda v: normalize_postcode(*v.split("|", 1))),
    }


def record_phones(records: pl.DataFrame, *, default_region: str) -> pl.Series:
    """Each record's phone in E.164, read in the record's country when it has one (see `phone_region`)."""
    default = phone_region(None, default_region)
    regions = map_distinct(text_column(records, "country"), lambda c: phone_region(c, default)).fill_null(default)
    typed = pl.select(pl.concat_str(_phone_digits(text_column(records, "phone")), regions, separator=_REGION_SEPARATOR))
    return map_distinct(typed.to_series(), lambda v: normalize_phone(*v.rsplit(_REGION_SEPARATOR, 1))).alias("phone")


def _phone_digits(typed: pl.Series) -> pl.Series:
    """Numbers typed with digits and separators only, without the separators; others as typed.

    `normalize_phone` drops those separators first anyway, so both spellings normalise alike; one
    spelling per number means each is parsed once ("(415) 555-0134", "415.555.0134" -> "4155550134").
    """
    compact = typed.str.replace_all(_PHONE_SEPARATORS, "")
    plain = typed.str.contains(_PLAIN_PHONE) & compact.str.contains(_PHONE_DIGITS)
    return pl.select(pl.when(plain).then(compact).otherwise(typed)).to_series()


def map_distinct(values: pl.Series, function: Callable[[str], str | None]) -> pl.Series:
    """Apply `function` once per distinct value (normalising is the slow part of resolution)."""
    distinct = values.drop_nulls().unique().to_list()
    table = {value: function(value) for value in distinct}
    return values.replace_strict(table, default=None, return_dtype=pl.String)
