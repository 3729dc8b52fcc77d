"""Profile documents: each customer's API answer rendered once per build, so a request is one lookup.

The renderer is vectorised Polars over the serving rows (profiles, identifiers, orders, events),
producing the JSON of `api.models.CustomerPublic` unmasked; `mask_document` turns a parsed one into
what a caller without `pii:read` sees. A test holds the rendered documents to the response model
built row by row.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
import polars as pl

from core.masking import mask, mask_url
from identity.graph import HOUSEHOLD_REASON

RECENT = 10  # orders and events a profile shows
CHANNELS = ("web", "pos", "marketplace")
PERSONAL = ("first_name", "last_name", "email", "phone", "street", "postcode", "loyalty_id")
MASKED_KINDS = frozenset({"email", "phone", "loyalty_id", "device_id", "marketplace_buyer_id"})
RISK_SLOT = ',"risk":null}'  # every document ends so: the risk summary goes in per caller
TOP_REASONS = 3
_SCALARS = ("customer_id", *PERSONAL[:4], "dob", "street", "city", "postcode", "country", "loyalty_id")
_ORDER_FIELDS = ("order_id", "source", "platform", "status", "currency", "total_amount", "item_count", "store_id",
                 "order_ts")  # fmt: skip
_EVENT_FIELDS = ("event_id", "event_type", "event_ts", "session_id", "device_id", "product_id", "order_id", "page_url")


def money(cents: pl.Expr) -> pl.Expr:
    """Integer cents as the API's decimal text: 1234 -> "12.34", -5 -> "-0.05"."""
    magnitude = cents.abs()
    text = pl.format("{}.{}", magnitude // 100, (magnitude % 100).cast(pl.String).str.zfill(2))
    return pl.when(cents < 0).then(pl.concat_str(pl.lit("-"), text)).otherwise(text)


def _text(*parts: str | pl.Expr) -> pl.Expr:
    """Concatenate literal text and expressions (pl.format reads braces as column names)."""
    return pl.concat_str([pl.lit(p) if isinstance(p, str) else p for p in parts])


def _json(*fields: pl.Expr | str) -> pl.Expr:
    """One JSON object per row from the given fields."""
    return pl.struct(*fields).struct.json_encode()


def _arrays(rows: pl.DataFrame, order: list[str], descending: bool, limit: int | None, name: str) -> pl.DataFrame:
    """(customer_id, `name`): each customer's rows as a JSON array, in order, at most `limit` of them."""
    ranked = rows.sort(["customer_id", *order], descending=[False, *([descending] * len(order))])
    if limit is not None:
        ranked = ranked.group_by("customer_id", maintain_order=True).head(limit)
    grouped = ranked.group_by("customer_id", maintain_order=True).agg(pl.col("__json").str.join(","))
    return grouped.select("customer_id", _text("[", pl.col("__json"), "]").alias(name))


def _platforms(orders: pl.DataFrame) -> pl.DataFrame:
    totals = orders.group_by("customer_id", "platform").agg(pl.len().alias("n"), pl.col("total_cents").sum())
    entries = totals.sort("customer_id", "platform").with_columns(
        _text(
            '"',
            pl.col("platform"),
            '":{"order_count":',
            pl.col("n").cast(pl.String),
            ',"value":"',
            money(pl.col("total_cents")),
            '"}',
        ).alias("__json")  # fmt: skip
    )
    grouped = entries.group_by("customer_id", maintain_order=True).agg(pl.col("__json").str.join(","))
    return grouped.select("customer_id", _text("{", pl.col("__json"), "}").alias("platforms"))


def _household(identifiers: pl.DataFrame) -> pl.DataFrame:
    family = identifiers.filter(pl.col("rule").str.starts_with(HOUSEHOLD_REASON)).select("kind", "value", "customer_id")
    pairs = family.join(family.rename({"customer_id": "other"}), on=["kind", "value"]).filter(
        pl.col("customer_id") != pl.col("other")
    )
    rows = pairs.with_columns(_json(pl.col("other").alias("customer_id"), "kind", "value").alias("__json"))
    return _arrays(rows, ["other", "kind"], False, None, "household")


def _metrics() -> pl.Expr:
    channels = [
        pl.struct(
            pl.col(f"{c}_order_count").alias("order_count"), money(pl.col(f"{c}_value_cents")).alias("value")
        ).alias(c)
        for c in CHANNELS
    ]
    head = _json(
        "order_count", money(pl.col("lifetime_value_cents")).alias("lifetime_value"),
        money(pl.col("average_order_value_cents")).alias("average_order_value"), "first_order_ts", "last_order_ts",
        pl.struct(*channels).alias("channels"), "event_count", "last_event_ts",
    )  # fmt: skip
    return _text(head.str.head(-1), ',"platforms":', pl.col("platforms"), "}")


def render(
    profiles: pl.DataFrame,
    identifiers: pl.DataFrame,
    orders: pl.DataFrame,
    events: pl.DataFrame,
) -> pl.Series:
    """The unmasked profile document of each row of `profiles`, in its order.

    `identifiers`, `orders` and `events` are serving rows. The risk summary, which only callers
    with `risk:read` see, is left in the last slot (`RISK_SLOT`) for `with_risk` to fill per request.
    """
    # 1. the nested parts, one JSON text per customer
    ids = identifiers.sort("kind", "value").with_columns(_json("kind", "value", "rule").alias("__json"))
    order_json = orders.with_columns(_json(*_ORDER_FIELDS[:5], money(pl.col("total_cents")).alias("total_amount"),
                                           *_ORDER_FIELDS[6:]).alias("__json"))  # fmt: skip
    event_json = events.with_columns(_json(*_EVENT_FIELDS).alias("__json"))
    parts = [
        _arrays(ids, ["kind", "value"], False, None, "identifiers"),
        _arrays(order_json, ["order_ts", "order_id"], True, RECENT, "recent_orders"),
        _arrays(event_json, ["event_ts", "event_id"], True, RECENT, "recent_events"),
        _platforms(orders),
        _household(identifiers),
    ]
    frame = profiles
    for part in parts:
        frame = frame.join(part, on="customer_id", how="left", maintain_order="left")
    frame = frame.with_columns(
        pl.col("identifiers", "recent_orders", "recent_events", "household").fill_null("[]"),
        pl.col("platforms").fill_null("{}"),
        pl.col("lineage").fill_null("{}"),
    )
    # 2. the document: scalars, then each part in place
    scalars = _json(*_SCALARS, pl.lit(False).alias("pii_masked"), "record_count", "first_seen", "last_seen", "build_id")
    return frame.select(
        _text(
            scalars.str.head(-1), ',"lineage":', pl.col("lineage"), ',"identifiers":', pl.col("identifiers"),
            ',"metrics":', _metrics(), ',"recent_orders":', pl.col("recent_orders"), ',"recent_events":',
            pl.col("recent_events"), ',"household":', pl.col("household"), RISK_SLOT,
        ).alias("document")
    )["document"]  # fmt: skip


def mask_document(document: dict[str, Any]) -> dict[str, Any]:
    """What a caller without `pii:read` sees: personal values masked, date of birth withheld."""
    masked = {**document, **{name: mask(document.get(name)) for name in PERSONAL}, "dob": None, "pii_masked": True}
    masked["identifiers"] = [
        {**i, "value": mask(i["value"]) or ""} if i["kind"] in MASKED_KINDS else i for i in document["identifiers"]
    ]
    masked["recent_events"] = [
        {**e, "device_id": mask(e["device_id"]), "page_url": mask_url(e["page_url"])} for e in document["recent_events"]
    ]
    masked["household"] = [{**h, "value": mask(h["value"]) or ""} for h in document["household"]]
    return masked


def risk_summary(score: int, reasons: str, scored_at: datetime) -> str:
    """The profile's risk JSON from a served score: the score, its top reasons, when it was scored."""
    top = orjson.loads(reasons)[:TOP_REASONS]
    return orjson.dumps({"score": score, "reasons": top, "scored_at": scored_at}).decode()


def with_risk(document: str, risk: str) -> str:
    """The document with its risk slot filled."""
    if not document.endswith(RISK_SLOT):
        raise ValueError("not a rendered profile document: it does not end in the risk slot")
    return document[: -len(RISK_SLOT)] + ',"risk":' + risk + "}"
