"""Each platform's document shape maps to one order model; malformed documents say what is wrong."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from ingest.marketplace import MappingError, parse_document
from ingest.products import ProductMatcher

AMAZON = {
    "_id": "a1",
    "platform": "amazon",
    "AmazonOrderId": "114-3941689-8772232",
    "PurchaseDate": "2026-03-01T10:00:00Z",
    "LastUpdateDate": "2026-03-02T10:00:00Z",
    "OrderStatus": "Shipped",
    "OrderTotal": {"CurrencyCode": "USD", "Amount": "45.10"},
    "BuyerInfo": {"BuyerEmail": "5k2j9x0q7w1m4r8@marketplace.amazon.com", "BuyerName": "Jane Doe"},
    "ShippingAddress": {
        "Name": "Jane Doe",
        "AddressLine1": "1 Main St",
        "City": "Austin",
        "PostalCode": "73301",
        "CountryCode": "US",
        "Phone": "512-555-0134",
    },
    "OrderItems": [
        {
            "ASIN": "B0",
            "Title": "Trail Boot - Size 10",
            "QuantityOrdered": 2,
            "ItemPrice": {"CurrencyCode": "USD", "Amount": "22.55"},
        }
    ],
    "IsPrime": True,
}
EBAY = {
    "_id": "e1",
    "platform": "ebay",
    "orderId": "12-34567-89012",
    "creationDate": "2026-03-01T10:00:00Z",
    "lastModifiedDate": "2026-03-01T11:00:00Z",
    "orderFulfillmentStatus": "FULFILLED",
    "buyer": {
        "username": "JDoe_77",
        "buyerRegistrationAddress": {
            "fullName": "Jane Doe",
            "email": "Jane.Doe@Example.com",
            "primaryPhone": {"phoneNumber": "5125550134"},
            "contactAddress": {
                "addressLine1": "1 Main St",
                "city": "Austin",
                "postalCode": "73301",
                "countryCode": "US",
            },
        },
    },
    "pricingSummary": {"total": {"value": "19.99", "currency": "USD"}},
    "lineItems": [{"title": "Camp Mug", "quantity": 1, "lineItemCost": {"value": "19.99", "currency": "USD"}}],
}
WALMART = {
    "_id": "w1",
    "platform": "walmart",
    "purchaseOrderId": "1796277083022",
    "customerOrderId": "c-9",
    "customerEmailId": "a8f3@relay.walmart.com",
    "orderDate": 1772359200000,
    "lastModified": 1772362800000,
    "shippingInfo": {
        "phone": "5125550134",
        "postalAddress": {
            "name": "Jane Doe",
            "address1": "1 Main St",
            "city": "Austin",
            "postalCode": "73301",
            "country": "USA",
        },
    },
    "orderLines": [
        {
            "item": {"productName": "Camp Mug", "sku": "S1"},
            "orderLineQuantity": {"amount": "3"},
            "charges": [{"chargeType": "PRODUCT", "chargeAmount": {"currency": "USD", "amount": "5.00"}}],
            "orderLineStatuses": {"orderLineStatus": [{"status": "Created"}, {"status": "Delivered"}]},
        }
    ],
}


def test_amazon_documents_map_with_unmapped_fields_kept() -> None:
    order = parse_document(json.dumps(AMAZON))
    assert (order.marketplace_order_id, order.total_amount, order.currency) == (
        "114-3941689-8772232",
        Decimal("45.10"),
        "USD",
    )
    assert order.buyer_id == "amazon:5k2j9x0q7w1m4r8@marketplace.amazon.com"
    assert order.order_ts == datetime(2026, 3, 1, 10, tzinfo=UTC)
    assert [(line.title, line.quantity, line.line_total, line.unit_price) for line in order.lines] == [
        ("Trail Boot - Size 10", 2, Decimal("22.55"), Decimal("11.28"))
    ]
    assert order.extra == {"IsPrime": True}


def test_ebay_documents_carry_the_real_email_and_a_username_buyer_id() -> None:
    order = parse_document(json.dumps(EBAY))
    assert (order.buyer_email, order.buyer_id, order.phone) == ("Jane.Doe@Example.com", "ebay:jdoe_77", "5125550134")


def test_walmart_documents_use_epoch_millis_sum_their_lines_and_take_the_line_status() -> None:
    order = parse_document(json.dumps(WALMART))
    assert order.order_ts == datetime(2026, 3, 1, 10, tzinfo=UTC)
    assert order.total_amount == Decimal("5.00")
    assert (order.lines[0].quantity, order.lines[0].unit_price) == (3, Decimal("1.67"))
    assert order.status == "Delivered"


@pytest.mark.parametrize(
    ("document", "reason", "column"),
    [
        ({**AMAZON, "OrderTotal": {"CurrencyCode": "USD", "Amount": "N/A"}}, "invalid_type", "OrderTotal.Amount"),
        ({**AMAZON, "PurchaseDate": None}, "invalid_type", "PurchaseDate"),
        ({**AMAZON, "AmazonOrderId": None}, "missing_field", "AmazonOrderId"),
        (
            {**EBAY, "lineItems": [{"title": "x", "quantity": {"n": 1}, "lineItemCost": {"value": "1"}}]},
            "invalid_type",
            "lineItems.quantity",
        ),
        ({**WALMART, "orderDate": "2026-03-01"}, "invalid_type", "orderDate"),
        ({**AMAZON, "platform": "etsy"}, "invalid_value", "platform"),
        ({"platform": "amazon"}, "missing_field", "_id"),
    ],
)
def test_malformed_documents_raise_with_reason_and_field(document: dict, reason: str, column: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(MappingError) as error:
        parse_document(json.dumps(document))
    assert (error.value.reason_code, error.value.column) == (reason, column)


def test_titles_match_the_catalogue_despite_case_suffixes_and_typos() -> None:
    matcher = ProductMatcher({"P1": "Trail Boot", "P2": "Camp Mug", "P3": "Trailblazer Waterproof Hiking Boot"})
    assert matcher.match("TRAIL BOOT") == "P1"
    assert matcher.match("Trail Boot - Size 10") == "P1"
    assert matcher.match("Camp Mug (2 pack)") == "P2"
    assert matcher.match("Trailblazer Waterprof Hiking Boot") == "P3"
    assert matcher.match("Boot") is None
    assert matcher.match("Garden Hose") is None
    assert matcher.match(None) is None
