"""Marketplace orders as each platform's API returns them, for the MongoDB collection.

Why three shapes: the same purchase looks different on Amazon (relay e-mail, ISO dates),
eBay (real but messy e-mail, username) and Walmart (relay e-mail, epoch-millisecond dates).
Shapes drift over time (Amazon adds IsPrime from 2026, Walmart adds shipNode from 2025-10),
and a scheduled few documents carry a deliberately bad value for quarantine to catch.
"""

from __future__ import annotations

import random
from typing import Any

from sample_data.formats import (
    PRIME_FIELD_FROM_S,
    SHIP_NODE_FROM_S,
    between,
    digits,
    iso_date,
    iso_ms,
    iso_s,
    money,
    pick,
)
from sample_data.noise import email_variant, format_phone, messy_first, messy_last
from sample_data.orders import Line, Order
from sample_data.people import Person, ascii_slug
from sample_data.vocab import TITLE_SUFFIXES

AMAZON_STATUS = {"placed": "Unshipped", "shipped": "Shipped", "delivered": "Shipped", "cancelled": "Canceled",
                 "returned": "Shipped"}  # fmt: skip
EBAY_STATUS = {"placed": "NOT_STARTED", "shipped": "IN_PROGRESS", "delivered": "FULFILLED",
               "cancelled": "NOT_STARTED", "returned": "FULFILLED"}  # fmt: skip
WALMART_STATUS = {"placed": "Acknowledged", "shipped": "Shipped", "delivered": "Delivered",
                  "cancelled": "Cancelled", "returned": "Delivered"}  # fmt: skip
PROBLEMS = {
    "amazon": ("amount_not_numeric", "missing_purchase_date"),
    "ebay": ("quantity_is_object", "amount_not_numeric"),
    "walmart": ("order_date_not_epoch_ms", "quantity_not_numeric"),
}
EARLY_BAD = frozenset({7, 31, 73})
BAD_EVERY = 200


def epoch_ms(ts_s: int) -> int:
    """Walmart reports times as epoch milliseconds."""
    return ts_s * 1000


class MarketDocs:
    """Turns marketplace orders into platform documents, corrupting a scheduled few."""

    def __init__(self, rng: random.Random, chunk: int = 0) -> None:
        self.rng = rng
        # ObjectId = 4-byte time, 5-byte "machine" (here: random + chunk, so chunks never clash), 3-byte counter
        self.machine = f"{rng.getrandbits(20):05x}{chunk:05x}"
        self.count = 0
        self.pending_bad = False
        self.bad_seen: dict[str, int] = {}

    def build(self, order: Order) -> tuple[str, dict[str, Any], str]:
        """Return (_id, document, problem) where problem is empty for a clean document."""
        self.count += 1
        doc_id = f"{order.ts_s:08x}{self.machine}{self.count:06x}"
        makers = {"amazon": self._amazon, "ebay": self._ebay, "walmart": self._walmart}
        doc: dict[str, Any] = {"_id": doc_id, "platform": order.channel, **makers[order.channel](order)}
        if self.count in EARLY_BAD or self.count % BAD_EVERY == BAD_EVERY // 2:
            self.pending_bad = True
        problem = ""
        if self.pending_bad and not order.fraud:
            problem = self._corrupt(order.channel, doc)
            self.pending_bad = False
        return doc_id, doc, problem

    def _name(self, person: Person) -> str:
        """The buyer's name as typed on the platform."""
        rng = self.rng
        return f"{messy_first(rng, person.first_name, 0.2)} {messy_last(rng, person.last_name, 0.08)}"

    def _title(self, line: Line) -> str:
        """Marketplace listing titles drift from our catalogue names (case, size/colour suffixes)."""
        rng, title = self.rng, line.product.name
        roll = rng.random()
        if roll < 0.15:
            return title.upper()
        if roll < 0.25:
            return title.lower()
        return title + pick(rng, TITLE_SUFFIXES) if roll < 0.45 else title

    def _amazon(self, order: Order) -> dict[str, Any]:
        rng, person = self.rng, order.person
        if not person.amazon_relay:
            chars = "abcdefghijklmnopqrstuvwxyz0123456789"
            person.amazon_relay = f"{''.join(pick(rng, chars) for _ in range(15))}@marketplace.amazon.com"
        address = person.address
        shipping = {"Name": self._name(person), "AddressLine1": address.street, "City": address.city,
                    "PostalCode": address.postcode, "CountryCode": address.country}  # fmt: skip
        if rng.random() < 0.7:
            shipping["Phone"] = format_phone(rng, person.phone)
        doc: dict[str, Any] = {
            "AmazonOrderId": f"{between(rng, 111, 114)}-{digits(rng, 7)}-{digits(rng, 7)}",
            "PurchaseDate": iso_s(order.ts_s),
            "LastUpdateDate": iso_s(order.updated_s),
            "OrderStatus": AMAZON_STATUS[order.status],
            "OrderTotal": {"CurrencyCode": order.currency, "Amount": money(order.total_cents)},
            "BuyerInfo": {"BuyerEmail": person.amazon_relay, "BuyerName": self._name(person)},
            "ShippingAddress": shipping,
            "OrderItems": [
                {
                    "ASIN": line.product.asin,
                    "Title": self._title(line),
                    "QuantityOrdered": line.quantity,
                    "ItemPrice": {"CurrencyCode": order.currency, "Amount": money(line.quantity * line.unit_cents)},
                }
                for line in order.lines
            ],  # fmt: skip
        }
        if order.ts_s >= PRIME_FIELD_FROM_S:
            doc["IsPrime"] = rng.random() < 0.6
        return doc

    def _ebay(self, order: Order) -> dict[str, Any]:
        rng, person = self.rng, order.person
        if not person.ebay_username:
            slug = ascii_slug(person.first_name)[:1] + ascii_slug(person.last_name)
            person.ebay_username = f"{slug}_{between(rng, 1, 99)}" if rng.random() < 0.6 else f"{slug}{digits(rng, 4)}"
        address = person.address
        email = person.email if rng.random() < 0.6 else email_variant(rng, person.email)
        doc: dict[str, Any] = {
            "orderId": f"{digits(rng, 2)}-{digits(rng, 5)}-{digits(rng, 5)}",
            "creationDate": iso_ms(order.ts_s * 1000),
            "lastModifiedDate": iso_ms(order.updated_s * 1000),
            "orderFulfillmentStatus": EBAY_STATUS[order.status],
            "buyer": {"username": person.ebay_username, "buyerRegistrationAddress": {
                "fullName": self._name(person), "email": email,
                "primaryPhone": {"phoneNumber": format_phone(rng, person.phone)},
                "contactAddress": {"addressLine1": address.street, "city": address.city,
                                   "postalCode": address.postcode, "countryCode": address.country}}},
            "pricingSummary": {"total": {"value": money(order.total_cents), "currency": order.currency}},
            "lineItems": [
                {"title": self._title(line), "quantity": line.quantity,
                 "lineItemCost": {"value": money(line.quantity * line.unit_cents), "currency": order.currency}}
                for line in order.lines
            ],
        }  # fmt: skip
        if order.status == "cancelled":
            doc["cancelStatus"] = {"cancelState": "CANCELED"}
        return doc

    def _walmart(self, order: Order) -> dict[str, Any]:
        rng, person = self.rng, order.person
        if not person.walmart_relay:
            person.walmart_relay = f"{rng.getrandbits(128):032x}@relay.walmart.com"
        address = person.address
        status = WALMART_STATUS[order.status]
        doc: dict[str, Any] = {
            "purchaseOrderId": f"17{digits(rng, 11)}",
            "customerOrderId": f"{digits(rng, 13)}",
            "customerEmailId": person.walmart_relay,
            "orderDate": epoch_ms(order.ts_s),
            "lastModified": epoch_ms(order.updated_s),
            "shippingInfo": {"phone": format_phone(rng, person.phone), "postalAddress": {
                "name": self._name(person), "address1": address.street, "city": address.city,
                "postalCode": address.postcode, "country": "USA"}},
            "orderLines": [
                {"lineNumber": str(n), "item": {"productName": self._title(line), "sku": line.product.walmart_sku},
                 "orderLineQuantity": {"unitOfMeasurement": "EACH", "amount": str(line.quantity)},
                 "charges": [{"chargeType": "PRODUCT", "chargeAmount": {
                     "currency": order.currency, "amount": money(line.quantity * line.unit_cents)}}],
                 "orderLineStatuses": {"orderLineStatus": [{"status": status}]}}
                for n, line in enumerate(order.lines, start=1)
            ],
        }  # fmt: skip
        if order.ts_s >= SHIP_NODE_FROM_S:
            doc["shipNode"] = {"type": "SellerFulfilled", "name": "ShopSphere DC East"}
        return doc

    def _corrupt(self, platform: str, doc: dict[str, Any]) -> str:
        """Break one value in doc the way a buggy upstream would; return the problem code."""
        seen = self.bad_seen.get(platform, 0)
        self.bad_seen[platform] = seen + 1
        problem = PROBLEMS[platform][seen % 2]
        if problem == "amount_not_numeric" and platform == "amazon":
            doc["OrderTotal"]["Amount"] = "N/A"
        elif problem == "missing_purchase_date":
            del doc["PurchaseDate"]
        elif problem == "quantity_is_object":
            doc["lineItems"][0]["quantity"] = {"value": doc["lineItems"][0]["quantity"]}
        elif problem == "amount_not_numeric":
            doc["pricingSummary"]["total"]["value"] = "N/A"
        elif problem == "order_date_not_epoch_ms":
            doc["orderDate"] = iso_date(doc["orderDate"] // 1000)
        else:
            doc["orderLines"][0]["orderLineQuantity"]["amount"] = "one"
        return problem
