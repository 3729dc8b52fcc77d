"""Raw source rows to the conformed model: pure functions over Arrow tables, no I/O.

Each function takes rows typed to the raw table's source columns and returns rows for a conformed
table, plus rejections for rows that type-check but break a rule of the model (an unknown
channel, an order line whose order is unknown, negative stock).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

import polars as pl
import pyarrow as pa

from ingest.marketplace import MarketplaceOrder
from ingest.products import ProductMatcher
from ingest.validate import INVALID_VALUE, Rejection
from schema.lake import USER_TRACKED_ATTRIBUTES

CHANNELS = ("web", "pos")
OWN_PLATFORM = "shopsphere"


@dataclass(frozen=True)
class BatchContext:
    """Where a batch came from and when it is committed; stamped on every row as lineage."""

    source: str
    batch_id: str
    ingested_at: datetime


def _frame(rows: pa.Table) -> pl.DataFrame:
    frame = pl.from_arrow(rows)
    assert isinstance(frame, pl.DataFrame)
    return frame


def _lineage(frame: pl.DataFrame, ctx: BatchContext) -> pl.DataFrame:
    return frame.with_columns(
        pl.lit(ctx.batch_id).alias("_batch_id"),
        pl.lit(ctx.ingested_at).cast(pl.Datetime("us", "UTC")).alias("_ingested_at"),
    )


def raw_rows(rows: pa.Table, ctx: BatchContext, watermark_columns: tuple[str, ...]) -> pa.Table:
    """Source rows plus raw lineage: source, batch, ingestion time and each row's source position."""
    frame = _lineage(_frame(rows), ctx)
    position = pl.concat_str([pl.col(c).cast(pl.String) for c in watermark_columns], separator="|")
    return frame.with_columns(pl.lit(ctx.source).alias("_source"), position.alias("_watermark")).to_arrow()


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


def users(rows: pa.Table, ctx: BatchContext) -> pa.Table:
    """Users as SCD2 versions: each source state opens a version valid from its updated_at."""
    frame = _frame(rows)
    columns = [frame[c].to_list() for c in USER_TRACKED_ATTRIBUTES]
    hashes = [tracked_hash(*values) for values in zip(*columns, strict=True)]
    frame = frame.with_columns(
        pl.col("updated_at").alias("valid_from"),
        pl.lit(None, pl.Datetime("us", "UTC")).alias("valid_to"),
        pl.lit(True).alias("is_current"),
        pl.Series("attr_hash", hashes, pl.String),
    )
    return _lineage(frame, ctx).to_arrow()


def orders(rows: pa.Table, ctx: BatchContext, item_counts: pa.Table | None = None) -> tuple[pa.Table, list[Rejection]]:
    """Web and till orders; `order_id` becomes `<channel>:<id>`. Unknown channels are rejected."""
    frame = _frame(rows).with_row_index("__i")
    bad = frame.filter(~pl.col("channel").is_in(CHANNELS) | pl.col("order_ts").is_null())
    rejections = [
        Rejection(
            i, INVALID_VALUE, "channel" if ch not in CHANNELS else "order_ts", f"channel {ch!r} / order_ts required"
        )
        for i, ch in zip(bad["__i"].to_list(), bad["channel"].to_list(), strict=True)
    ]
    frame = frame.filter(pl.col("channel").is_in(CHANNELS) & pl.col("order_ts").is_not_null())
    frame = frame.with_columns(
        pl.concat_str([pl.col("channel"), pl.col("order_id").cast(pl.String)], separator=":").alias("order_id"),
        pl.col("channel").alias("source"),
        pl.lit(OWN_PLATFORM).alias("platform"),
        pl.col("order_id").cast(pl.String).alias("source_order_id"),
        pl.col("deleted_at").is_not_null().alias("is_deleted"),
    ).drop("channel", "deleted_at", "__i")
    if item_counts is not None:
        frame = frame.join(_frame(item_counts), on="order_id", how="left")
    return _lineage(frame, ctx).to_arrow(), rejections


def order_keys(conformed_orders: pa.Table) -> pa.Table:
    """The columns order lines need from their orders: source id, conformed id, time and currency."""
    frame = _frame(conformed_orders).select(
        pl.col("source_order_id").cast(pl.Int64).alias("source_order_id"), "order_id", "order_ts", "currency"
    )
    return frame.to_arrow()


def order_items(rows: pa.Table, ctx: BatchContext, keys: pa.Table) -> tuple[pa.Table, list[Rejection]]:
    """Order lines with their order's conformed id, time and currency; lines of unknown orders are rejected."""
    frame = _frame(rows).with_row_index("__i").rename({"order_id": "source_order_id"})
    joined = frame.join(_frame(keys), on="source_order_id", how="left")
    orphans = joined.filter(pl.col("order_id").is_null())
    rejections = [
        Rejection(i, INVALID_VALUE, "order_id", f"order {o} is unknown")
        for i, o in zip(orphans["__i"].to_list(), orphans["source_order_id"].to_list(), strict=True)
    ]
    joined = joined.filter(pl.col("order_id").is_not_null()).with_columns(
        pl.lit(None, pl.String).alias("product_name"), pl.lit(True).alias("product_matched")
    )
    columns = ["order_id", "line_no", "product_id", "product_name", "product_matched", "quantity", "unit_price"]
    return _lineage(joined.select(*columns, "currency", "order_ts"), ctx).to_arrow(), rejections


def item_counts(rows: pa.Table) -> pa.Table:
    """Items per conformed order id, from typed order lines joined to order keys."""
    frame = _frame(rows).group_by("order_id").agg(pl.col("quantity").sum().cast(pl.Int32).alias("item_count"))
    return frame.to_arrow()


def passthrough(rows: pa.Table, ctx: BatchContext) -> pa.Table:
    """Entities whose conformed shape is the source shape plus lineage (products, stores)."""
    return _lineage(_frame(rows), ctx).to_arrow()


def inventory(rows: pa.Table, ctx: BatchContext) -> tuple[pa.Table, list[Rejection]]:
    """Stock snapshots with `available` = on_hand - reserved (never negative); negative counts are rejected."""
    frame = _frame(rows).with_row_index("__i")
    negative = (pl.col("on_hand") < 0) | (pl.col("reserved") < 0)
    bad = frame.filter(negative)
    rejections = [Rejection(i, INVALID_VALUE, "on_hand", "negative stock count") for i in bad["__i"].to_list()]
    frame = frame.filter(~negative | negative.is_null()).drop("__i")
    available = pl.max_horizontal(pl.col("on_hand") - pl.col("reserved").fill_null(0), pl.lit(0)).cast(pl.Int32)
    return _lineage(frame.with_columns(available.alias("available")), ctx).to_arrow(), rejections


def marketplace_rows(
    mapped: list[MarketplaceOrder], matcher: ProductMatcher, ctx: BatchContext
) -> tuple[pa.Table, pa.Table, pa.Table]:
    """Conformed rows of mapped marketplace documents: (marketplace_orders, orders, order_items)."""
    details: list[dict[str, object]] = []
    unified: list[dict[str, object]] = []
    lines: list[dict[str, object]] = []
    for order in mapped:
        order_id = f"{order.platform}:{order.marketplace_order_id}"
        details.append({
            "platform": order.platform, "marketplace_order_id": order.marketplace_order_id, "doc_id": order.doc_id,
            "buyer_id": order.buyer_id, "buyer_email": order.buyer_email, "buyer_name": order.buyer_name,
            "phone": order.phone, "street": order.street, "city": order.city, "postcode": order.postcode,
            "country": order.country, "status": order.status, "currency": order.currency,
            "total_amount": order.total_amount, "order_ts": order.order_ts, "updated_at": order.updated_at,
            "extra": json.dumps(order.extra, sort_keys=True, default=str) if order.extra else None,
        })  # fmt: skip
        unified.append({
            "order_id": order_id, "source": "marketplace", "platform": order.platform,
            "source_order_id": order.marketplace_order_id, "email": order.buyer_email, "phone": order.phone,
            "marketplace_buyer_id": order.buyer_id, "buyer_name": order.buyer_name, "ship_street": order.street,
            "ship_city": order.city, "ship_postcode": order.postcode, "ship_country": order.country,
            "status": order.status, "currency": order.currency, "total_amount": order.total_amount,
            "item_count": sum(line.quantity for line in order.lines), "order_ts": order.order_ts,
            "updated_at": order.updated_at, "is_deleted": False,
        })  # fmt: skip
        for line_no, line in enumerate(order.lines, start=1):
            product_id = matcher.match(line.title)
            lines.append({
                "order_id": order_id, "line_no": line_no, "product_id": product_id, "product_name": line.title,
                "product_matched": product_id is not None, "quantity": line.quantity, "unit_price": line.unit_price,
                "currency": order.currency, "order_ts": order.order_ts,
            })  # fmt: skip
    tables = [_lineage(_records(rows), ctx).to_arrow() for rows in (details, unified, lines)]
    return tables[0], tables[1], tables[2]


_MONEY_COLUMNS = frozenset({"total_amount", "unit_price", "price"})
_TIME_COLUMNS = frozenset({"order_ts", "updated_at", "event_ts"})


def _records(rows: list[dict[str, object]]) -> pl.DataFrame:
    """A frame from row dicts with money as decimal(12,2) and times in UTC microseconds."""
    names = rows[0].keys() if rows else ()
    overrides: dict[str, pl.DataType] = {n: pl.Decimal(12, 2) for n in names if n in _MONEY_COLUMNS}
    overrides.update({n: pl.Datetime("us", "UTC") for n in names if n in _TIME_COLUMNS})
    return pl.DataFrame(rows, schema_overrides=overrides, infer_schema_length=None)


def event_rows(rows: list[dict[str, object]], ctx: BatchContext) -> pa.Table:
    """Conformed event rows (from `ingest.events.parse_event`) with lineage."""
    return _lineage(_records(rows), ctx).to_arrow()
