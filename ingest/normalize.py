"""Raw rows to the conformed model: pure functions over Arrow tables, no I/O.

Each function takes rows of a raw table (source columns plus lineage: `_watermark` locates a row in
its source, `_op` says upsert or delete) and returns the writes to conformed tables, plus
rejections for rows that type-check but break a rule of the model (an unknown channel, negative
stock). Delete tombstones (keys found gone from the source) become soft deletes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import polars as pl
import pyarrow as pa

from ingest.model import Conformed, ConformEnv, RowRejection, Write
from lakehouse.query import to_frame
from schema import lake as tables
from schema.conformed import USER_TRACKED_ATTRIBUTES
from schema.model import TableDef
from schema.raw import OP_DELETE

CHANNELS = ("web", "pos")
OWN_PLATFORM = "shopsphere"
DELETED_HASH = "deleted"


def _split(raw: pa.Table) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(upserted rows, delete tombstones) of a raw batch, raw-only lineage dropped, conformed lineage kept."""
    frame = to_frame(raw)
    deletes = frame["_op"] == OP_DELETE
    keep = [c for c in frame.columns if c not in ("_source", "_watermark", "_op")]
    return frame.filter(~deletes).select(keep), frame.filter(deletes).select(keep)


def _rejections(frame: pl.DataFrame, bad: pl.Expr, column: str, message: str, key: str) -> list[RowRejection]:
    return [
        RowRejection(
            position=row["_watermark"], batch_id=row["_batch_id"], column=column, message=message,
            payload={k: v for k, v in row.items() if not k.startswith("_")}, record_key=str(row[key]),
        )
        for row in frame.filter(bad).to_dicts()
    ]  # fmt: skip


def tracked_hash(email: str | None, phone: str | None, first: str | None, last: str | None, loyalty: str | None) -> str:
    """sha256 of the SCD2-tracked attributes, insensitive to case, spacing and phone punctuation."""
    parts = [
        (email or "").strip().lower(),
        "".join(ch for ch in (phone or "") if ch.isdigit()),
        (first or "").strip().casefold(),
        (last or "").strip().casefold(),
        (loyalty or "").strip().upper(),
    ]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def users(raw: pa.Table, _env: ConformEnv) -> Conformed:
    """Users as SCD2 versions; a tombstone opens a final 'deleted' version at the time it was found."""
    states, tombstones = _split(raw)
    columns = [states[c].to_list() for c in USER_TRACKED_ATTRIBUTES]
    states = states.with_columns(
        pl.Series("attr_hash", [tracked_hash(*v) for v in zip(*columns, strict=True)], pl.String)
    )
    tombstones = tombstones.with_columns(
        pl.col("updated_at").alias("deleted_at"), pl.lit(DELETED_HASH).alias("attr_hash")
    )
    versions = pl.concat([states, tombstones], how="diagonal_relaxed").with_columns(
        pl.col("updated_at").alias("valid_from"),
        pl.lit(None, pl.Datetime("us", "UTC")).alias("valid_to"),
        pl.lit(True).alias("is_current"),
    )
    return Conformed(writes=[Write(tables.USERS, "scd2", versions.to_arrow())])


def order_id(source_order_id: pl.Expr, platform: str | pl.Expr = OWN_PLATFORM) -> pl.Expr:
    """The conformed order id, `platform:source id`, e.g. shopsphere:100042."""
    prefix = pl.lit(platform) if isinstance(platform, str) else platform
    return pl.concat_str([prefix, source_order_id.cast(pl.String)], separator=":")


def orders(raw: pa.Table, _env: ConformEnv) -> Conformed:
    """Web and till orders; unknown channels and orders without a time are rejected."""
    states, tombstones = _split(raw)
    frame = to_frame(raw).filter(pl.col("_op") != OP_DELETE)
    bad = ~pl.col("channel").is_in(CHANNELS) | pl.col("order_ts").is_null()
    rejected = _rejections(frame, bad, "channel", "channel must be web or pos, and order_ts is required", "order_id")
    states = (
        states.filter(~bad)
        .with_columns(
            order_id(pl.col("order_id")).alias("order_id"),
            pl.col("channel").alias("source"),
            pl.lit(OWN_PLATFORM).alias("platform"),
            pl.col("order_id").cast(pl.String).alias("source_order_id"),
            pl.col("deleted_at").is_not_null().alias("is_deleted"),
        )
        .drop("channel", "deleted_at")
    )
    writes = [Write(tables.ORDERS, "upsert", states.to_arrow())]
    if len(tombstones):
        keys = tombstones.select(order_id(pl.col("order_id")).alias("order_id")).to_arrow()
        writes.append(Write(tables.ORDERS, "mark", keys, {"is_deleted": True}))
    return Conformed(writes=writes, rejections=rejected)


def order_items(raw: pa.Table, _env: ConformEnv) -> Conformed:
    """Order lines of web and till orders, keyed by the conformed order id and line number."""
    states, tombstones = _split(raw)
    states = states.with_columns(
        order_id(pl.col("order_id")).alias("order_id"),
        pl.lit(None, pl.String).alias("product_name"),
        pl.col("product_id").is_not_null().alias("product_matched"),
        pl.lit(False).alias("is_deleted"),
    )
    writes = [Write(tables.ORDER_ITEMS, "upsert", states.to_arrow())]
    if len(tombstones):
        keys = tombstones.select(order_id(pl.col("order_id")).alias("order_id"), "line_no").to_arrow()
        writes.append(Write(tables.ORDER_ITEMS, "mark", keys, {"is_deleted": True}))
    return Conformed(writes=writes)


def _passthrough(target: TableDef) -> Callable[[pa.Table, ConformEnv], Conformed]:
    def conform(raw: pa.Table, _env: ConformEnv) -> Conformed:
        states, tombstones = _split(raw)
        writes = [Write(target, "upsert", states.to_arrow())]
        if len(tombstones):
            writes.append(Write(target, "delete", tombstones.select(list(target.key)).to_arrow()))
        return Conformed(writes=writes)

    return conform


products = _passthrough(tables.PRODUCTS)
stores = _passthrough(tables.STORES)


def inventory(raw: pa.Table, _env: ConformEnv) -> Conformed:
    """Stock snapshots with `available` = on_hand - reserved (never negative); negative counts are rejected."""
    states, tombstones = _split(raw)
    frame = to_frame(raw).filter(pl.col("_op") != OP_DELETE)
    negative = ((pl.col("on_hand") < 0) | (pl.col("reserved") < 0)).fill_null(False)
    rejected = _rejections(frame, negative, "on_hand", "stock counts cannot be negative", "product_id")
    available = pl.max_horizontal(pl.col("on_hand") - pl.col("reserved").fill_null(0), pl.lit(0)).cast(pl.Int32)
    states = states.filter(~negative).with_columns(available.alias("available"))
    writes = [Write(tables.INVENTORY_SNAPSHOTS, "upsert", states.to_arrow())]
    if len(tombstones):
        key = list(tables.INVENTORY_SNAPSHOTS.key)
        writes.append(Write(tables.INVENTORY_SNAPSHOTS, "delete", tombstones.select(key).to_arrow()))
    return Conformed(writes=writes, rejections=rejected)
