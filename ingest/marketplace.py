"""Marketplace documents (Amazon, eBay, Walmart shapes) mapped to one order model.

Each platform names the same facts differently and its shape drifts over time; a mapper pulls the
known facts out, keeps everything else in `extra`, and raises MappingError with the field and the
reason when a fact is missing or malformed, so the document goes to quarantine instead of a guess.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import pyarrow as pa

from ingest.model import Conformed, ConformEnv, RowRejection, Write, records_table
from ingest.products import ProductMatcher
from ingest.validate import INVALID_TYPE, INVALID_VALUE, MISSING_FIELD
from lakehouse.query import to_frame
from schema import lake as tables
from schema.raw import OP_DELETE

PLATFORMS = ("amazon", "ebay", "walmart")


class MappingError(ValueError):
    """Raised when a document lacks a fact or holds one of the wrong type."""

    def __init__(self, reason_code: str, column: str, message: str):
        super().__init__(message)
        self.reason_code = reason_code
        self.column = column


@dataclass
class Line:
    """One order line as the platform described it; platforms report the line total, not the unit price."""

    title: str | None
    quantity: int
    line_total: Decimal | None

    @property
    def unit_price(self) -> Decimal | None:
        """Line total / quantity, to the cent."""
        return None if self.line_total is None else (self.line_total / self.quantity).quantize(Decimal("0.01"))


@dataclass
class MarketplaceOrder:
    """The facts every platform's document yields."""

    platform: str
    marketplace_order_id: str
    doc_id: str
    buyer_handle: str | None
    buyer_email: str | None
    buyer_name: str | None
    phone: str | None
    street: str | None
    city: str | None
    postcode: str | None
    country: str | None
    status: str | None
    currency: str | None
    total_amount: Decimal
    order_ts: datetime
    updated_at: datetime
    lines: list[Line] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def buyer_id(self) -> str | None:
        """platform:handle, the marketplace buyer identifier."""
        return f"{self.platform}:{self.buyer_handle.strip().lower()}" if self.buyer_handle else None


def _path(doc: dict[str, Any], dotted: str) -> Any:
    value: Any = doc
    for part in dotted.split("."):
        if not isinstance(value, dict):
            raise MappingError(INVALID_TYPE, dotted, f"{dotted}: expected an object at {part!r}")
        value = value.get(part)
    return value


def _text(doc: dict[str, Any], dotted: str, *, required: bool = False) -> str | None:
    value = _path(doc, dotted)
    if value is None or value == "":
        if required:
            raise MappingError(MISSING_FIELD, dotted, f"{dotted} is required")
        return None
    if isinstance(value, (dict, list)):
        raise MappingError(INVALID_TYPE, dotted, f"{dotted}: expected text, got {type(value).__name__}")
    return str(value).strip() or None


def _money(value: Any, where: str) -> Decimal:
    if isinstance(value, (dict, list, bool)) or value is None:
        raise MappingError(INVALID_TYPE, where, f"{where}: expected an amount, got {value!r:.40}")
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except InvalidOperation as exc:
        raise MappingError(INVALID_TYPE, where, f"{where}: {value!r:.40} is not an amount") from exc
    if amount < 0:
        raise MappingError(INVALID_VALUE, where, f"{where}: negative amount")
    return amount


def _quantity(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise MappingError(INVALID_TYPE, where, f"{where}: expected a whole number, got {value!r:.40}")
    try:
        quantity = int(value)
    except ValueError as exc:
        raise MappingError(INVALID_TYPE, where, f"{where}: {value!r:.40} is not a whole number") from exc
    if quantity <= 0:
        raise MappingError(INVALID_VALUE, where, f"{where}: quantity must be positive")
    return quantity


def _iso(value: Any, where: str) -> datetime:
    if isinstance(value, dict) and "$date" in value:  # a BSON date, as extended JSON
        date = value["$date"]
        return _epoch_ms(int(date["$numberLong"]), where) if isinstance(date, dict) else _iso(date, where)
    if not isinstance(value, str):
        raise MappingError(INVALID_TYPE, where, f"{where}: expected an ISO timestamp")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise MappingError(INVALID_TYPE, where, f"{where}: {value!r:.40} is not a timestamp") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _epoch_ms(value: Any, where: str) -> datetime:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise MappingError(INVALID_TYPE, where, f"{where}: expected epoch milliseconds")
    return datetime.fromtimestamp(value / 1000, UTC)


def _list(doc: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = doc.get(key)
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise MappingError(INVALID_TYPE, key, f"{key}: expected a list of objects")
    return value


def _extra(doc: dict[str, Any], mapped: set[str]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k not in mapped}


def _amazon(doc: dict[str, Any]) -> MarketplaceOrder:
    lines = [
        Line(_text(item, "Title"), _quantity(item.get("QuantityOrdered"), "OrderItems.QuantityOrdered"),
             _money(_path(item, "ItemPrice.Amount"), "OrderItems.ItemPrice.Amount"))
        for item in _list(doc, "OrderItems")
    ]  # fmt: skip
    return MarketplaceOrder(
        platform="amazon",
        marketplace_order_id=str(_text(doc, "AmazonOrderId", required=True)),
        doc_id=str(doc["_id"]),
        buyer_handle=_text(doc, "BuyerInfo.BuyerEmail"),
        buyer_email=_text(doc, "BuyerInfo.BuyerEmail"),
        buyer_name=_text(doc, "BuyerInfo.BuyerName") or _text(doc, "ShippingAddress.Name"),
        phone=_text(doc, "ShippingAddress.Phone"),
        street=_text(doc, "ShippingAddress.AddressLine1"),
        city=_text(doc, "ShippingAddress.City"),
        postcode=_text(doc, "ShippingAddress.PostalCode"),
        country=_text(doc, "ShippingAddress.CountryCode"),
        status=_text(doc, "OrderStatus"),
        currency=_text(doc, "OrderTotal.CurrencyCode"),
        total_amount=_money(_path(doc, "OrderTotal.Amount"), "OrderTotal.Amount"),
        order_ts=_iso(doc.get("PurchaseDate"), "PurchaseDate"),
        updated_at=_iso(doc.get("LastUpdateDate") or doc.get("PurchaseDate"), "LastUpdateDate"),
        lines=lines,
        extra=_extra(doc, {"_id", "platform", "AmazonOrderId", "BuyerInfo", "ShippingAddress", "OrderStatus",
                           "OrderTotal", "PurchaseDate", "LastUpdateDate", "OrderItems"}),
    )  # fmt: skip


def _ebay(doc: dict[str, Any]) -> MarketplaceOrder:
    address = "buyer.buyerRegistrationAddress"
    lines = [
        Line(_text(item, "title"), _quantity(item.get("quantity"), "lineItems.quantity"),
             _money(_path(item, "lineItemCost.value"), "lineItems.lineItemCost.value"))
        for item in _list(doc, "lineItems")
    ]  # fmt: skip
    return MarketplaceOrder(
        platform="ebay",
        marketplace_order_id=str(_text(doc, "orderId", required=True)),
        doc_id=str(doc["_id"]),
        buyer_handle=_text(doc, "buyer.username"),
        buyer_email=_text(doc, f"{address}.email"),
        buyer_name=_text(doc, f"{address}.fullName"),
        phone=_text(doc, f"{address}.primaryPhone.phoneNumber"),
        street=_text(doc, f"{address}.contactAddress.addressLine1"),
        city=_text(doc, f"{address}.contactAddress.city"),
        postcode=_text(doc, f"{address}.contactAddress.postalCode"),
        country=_text(doc, f"{address}.contactAddress.countryCode"),
        status=_text(doc, "orderFulfillmentStatus"),
        currency=_text(doc, "pricingSummary.total.currency"),
        total_amount=_money(_path(doc, "pricingSummary.total.value"), "pricingSummary.total.value"),
        order_ts=_iso(doc.get("creationDate"), "creationDate"),
        updated_at=_iso(doc.get("lastModifiedDate") or doc.get("creationDate"), "lastModifiedDate"),
        lines=lines,
        extra=_extra(doc, {"_id", "platform", "orderId", "buyer", "orderFulfillmentStatus", "pricingSummary",
                           "creationDate", "lastModifiedDate", "lineItems"}),
    )  # fmt: skip


def _walmart_line(line: dict[str, Any]) -> Line:
    charges = [c for c in line.get("charges") or [] if isinstance(c, dict) and c.get("chargeType") == "PRODUCT"]
    price = _money(_path(charges[0], "chargeAmount.amount"), "orderLines.charges.chargeAmount") if charges else None
    return Line(
        _text(line, "item.productName"),
        _quantity(_path(line, "orderLineQuantity.amount"), "orderLines.orderLineQuantity"),
        price,
    )


def _walmart_status(doc: dict[str, Any]) -> str | None:
    """Walmart keeps status per line; the order's is the first line's latest status."""
    for line in _list(doc, "orderLines"):
        statuses = _path(line, "orderLineStatuses.orderLineStatus")
        if isinstance(statuses, list) and statuses and isinstance(statuses[-1], dict):
            return _text(statuses[-1], "status")
    return None


def _walmart(doc: dict[str, Any]) -> MarketplaceOrder:
    lines = [_walmart_line(line) for line in _list(doc, "orderLines")]
    total = sum((line.line_total or Decimal(0) for line in lines), Decimal("0.00"))
    charges = [c for line in _list(doc, "orderLines") for c in line.get("charges") or [] if isinstance(c, dict)]
    return MarketplaceOrder(
        platform="walmart",
        marketplace_order_id=str(_text(doc, "purchaseOrderId", required=True)),
        doc_id=str(doc["_id"]),
        buyer_handle=_text(doc, "customerEmailId"),
        buyer_email=_text(doc, "customerEmailId"),
        buyer_name=_text(doc, "shippingInfo.postalAddress.name"),
        phone=_text(doc, "shippingInfo.phone"),
        street=_text(doc, "shippingInfo.postalAddress.address1"),
        city=_text(doc, "shippingInfo.postalAddress.city"),
        postcode=_text(doc, "shippingInfo.postalAddress.postalCode"),
        country=_text(doc, "shippingInfo.postalAddress.country"),
        status=_walmart_status(doc),
        currency=_text(charges[0], "chargeAmount.currency") if charges else None,
        total_amount=total.quantize(Decimal("0.01")),
        order_ts=_epoch_ms(doc.get("orderDate"), "orderDate"),
        updated_at=_epoch_ms(doc.get("lastModified") or doc.get("orderDate"), "lastModified"),
        lines=lines,
        extra=_extra(doc, {"_id", "platform", "purchaseOrderId", "customerEmailId", "shippingInfo", "status",
                           "orderDate", "lastModified", "orderLines"}),
    )  # fmt: skip


MAPPERS: dict[str, Callable[[dict[str, Any]], MarketplaceOrder]] = {
    "amazon": _amazon,
    "ebay": _ebay,
    "walmart": _walmart,
}


def parse_document(text: str) -> MarketplaceOrder:
    """Parse one JSON document and map it by its platform; MappingError says what is wrong."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MappingError("invalid_json", "document", f"not JSON: {exc.msg}") from exc
    return map_document(doc)


def map_document(doc: Any) -> MarketplaceOrder:
    """Map an already-decoded document (as pymongo returns it)."""
    if not isinstance(doc, dict):
        raise MappingError(INVALID_TYPE, "document", "expected a JSON object")
    if "_id" not in doc:
        raise MappingError(MISSING_FIELD, "_id", "_id is required")
    if isinstance(doc["_id"], dict) and "$oid" in doc["_id"]:  # an ObjectId, as extended JSON
        doc = {**doc, "_id": doc["_id"]["$oid"]}
    platform = doc.get("platform")
    if platform not in MAPPERS:
        raise MappingError(INVALID_VALUE, "platform", f"unknown platform {platform!r:.40}")
    return MAPPERS[platform](doc)


def marketplace_rows(
    mapped: list[tuple[MarketplaceOrder, str, datetime]], matcher: ProductMatcher
) -> tuple[pa.Table, pa.Table, pa.Table]:
    """Conformed rows of mapped documents, each with its raw batch id and ingestion time.

    Returns (marketplace_orders, orders, order_items).
    """
    details: list[dict[str, object]] = []
    unified: list[dict[str, object]] = []
    lines: list[dict[str, object]] = []
    for order, batch_id, ingested_at in mapped:
        lineage = {"_batch_id": batch_id, "_ingested_at": ingested_at}
        conformed_id = f"{order.platform}:{order.marketplace_order_id}"
        details.append({
            "platform": order.platform, "marketplace_order_id": order.marketplace_order_id, "doc_id": order.doc_id,
            "buyer_id": order.buyer_id, "buyer_email": order.buyer_email, "buyer_name": order.buyer_name,
            "phone": order.phone, "street": order.street, "city": order.city, "postcode": order.postcode,
            "country": order.country, "status": order.status, "currency": order.currency,
            "total_amount": order.total_amount, "order_ts": order.order_ts, "updated_at": order.updated_at,
            "extra": json.dumps(order.extra, sort_keys=True, default=str) if order.extra else None, **lineage,
        })  # fmt: skip
        unified.append({
            "order_id": conformed_id, "source": "marketplace", "platform": order.platform,
            "source_order_id": order.marketplace_order_id, "email": order.buyer_email, "phone": order.phone,
            "marketplace_buyer_id": order.buyer_id, "buyer_name": order.buyer_name, "ship_street": order.street,
            "ship_city": order.city, "ship_postcode": order.postcode, "ship_country": order.country,
            "status": order.status, "currency": order.currency, "total_amount": order.total_amount,
            "order_ts": order.order_ts, "updated_at": order.updated_at, "is_deleted": False, **lineage,
        })  # fmt: skip
        for line_no, line in enumerate(order.lines, start=1):
            product_id = matcher.match(line.title)
            lines.append({
                "order_id": conformed_id, "line_no": line_no, "product_id": product_id, "product_name": line.title,
                "product_matched": product_id is not None, "quantity": line.quantity, "unit_price": line.unit_price,
                "currency": order.currency, "updated_at": order.updated_at, "is_deleted": False, **lineage,
            })  # fmt: skip
    return records_table(details), records_table(unified), records_table(lines)


def conform_marketplace(raw: pa.Table, env: ConformEnv) -> Conformed:
    """Raw documents to marketplace_orders, orders and order_items; unreadable documents are rejected.

    A tombstone (a document gone from MongoDB) carries the last landed document, so its order
    keys are known: the order and its lines are marked deleted, the platform detail is removed.
    """
    frame = to_frame(raw)
    mapped: list[tuple[MarketplaceOrder, str, datetime]] = []
    gone: list[MarketplaceOrder] = []
    rejected: list[RowRejection] = []
    for row in frame.iter_rows(named=True):
        try:
            order = parse_document(row["document"])
        except MappingError as exc:
            rejected.append(
                RowRejection(
                    row["_watermark"],
                    row["_batch_id"],
                    exc.column,
                    str(exc),
                    row["document"],
                    exc.reason_code,
                    record_key=row["doc_id"],
                )
            )
            continue
        if row["_op"] == OP_DELETE:
            gone.append(order)
        else:
            mapped.append((order, row["_batch_id"], row["_ingested_at"]))
    details, unified, lines = marketplace_rows(mapped, ProductMatcher(env.catalogue()))
    writes = [Write(tables.ORDERS, "upsert", unified), Write(tables.ORDER_ITEMS, "upsert", lines)]
    if gone:
        ids = [f"{o.platform}:{o.marketplace_order_id}" for o in gone]
        writes.append(Write(tables.ORDERS, "mark", pa.table({"order_id": ids}), {"is_deleted": True}))
        writes.append(Write(tables.ORDER_ITEMS, "mark", pa.table({"order_id": ids}), {"is_deleted": True}))
        keys = pa.table(
            {"platform": [o.platform for o in gone], "marketplace_order_id": [o.marketplace_order_id for o in gone]}
        )
        writes.append(Write(tables.MARKETPLACE_ORDERS, "delete", keys))
    writes.append(Write(tables.MARKETPLACE_ORDERS, "upsert", details))
    return Conformed(writes=writes, rejections=rejected)
