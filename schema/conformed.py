"""Conformed tables: one cleaned, typed model of ShopSphere built from the raw tables."""

from __future__ import annotations

from schema.model import MONEY, Layer, PartitionField, TableDef
from schema.model import Column as C
from schema.raw import INVENTORY_COLUMNS, PRODUCT_COLUMNS, STORE_COLUMNS, USER_COLUMNS

# Tracked attributes of users: a change to any of them opens a new SCD2 version.
USER_TRACKED_ATTRIBUTES = ("email", "phone", "first_name", "last_name", "loyalty_id")


def _conformed_lineage(first_id: int) -> tuple[C, ...]:
    """Lineage columns every conformed table carries."""
    return (
        C(first_id, "_batch_id", "string", required=True, doc="ingestion batch that last wrote the row"),
        C(first_id + 1, "_ingested_at", "timestamptz", required=True, doc="when that batch was committed"),
    )


USERS = TableDef(
    layer=Layer.CONFORMED,
    name="users",
    doc="ShopSphere accounts with SCD Type 2 history: one row per version of the tracked attributes.",
    columns=USER_COLUMNS
    + (
        C(16, "valid_from", "timestamptz", required=True, doc="source updated_at that opened this version"),
        C(17, "valid_to", "timestamptz", doc="when the next version opened; null while current"),
        C(18, "is_current", "boolean", required=True),
        C(19, "attr_hash", "string", required=True, doc="sha256 of the tracked attributes"),
    )
    + _conformed_lineage(20),
    key=("user_id", "valid_from"),
    sort=("user_id", "valid_from"),
    layout_rationale=(
        "unpartitioned, sorted by user_id: one version row per change is small, SCD2 merges and erasures are "
        "by user_id, and few files sorted by user_id let a merge rewrite only the files whose user_id bounds "
        "hold the changed users."
    ),
)

ORDERS = TableDef(
    layer=Layer.CONFORMED,
    name="orders",
    doc="Web, till (pos) and marketplace orders in one model.",
    columns=(
        C(1, "order_id", "string", required=True, doc="platform:id, e.g. shopsphere:100042, amazon:114-39..."),
        C(2, "source", "string", required=True, doc="web, pos or marketplace"),
        C(3, "platform", "string", required=True, doc="shopsphere, amazon, ebay or walmart"),
        C(4, "source_order_id", "string", required=True),
        C(5, "user_id", "long"),
        C(6, "store_id", "string"),
        C(7, "loyalty_id", "string", pii=True),
        C(8, "email", "string", pii=True),
        C(9, "phone", "string", pii=True),
        C(10, "device_id", "string", pii=True),
        C(11, "marketplace_buyer_id", "string", pii=True, doc="platform:buyer handle"),
        C(12, "buyer_name", "string", pii=True),
        C(13, "ship_street", "string", pii=True),
        C(14, "ship_city", "string"),
        C(15, "ship_postcode", "string", pii=True),
        C(16, "ship_country", "string"),
        C(17, "status", "string"),
        C(18, "currency", "string"),
        C(19, "total_amount", MONEY),
        C(20, "order_ts", "timestamptz", required=True),
        C(21, "updated_at", "timestamptz", required=True),
        C(22, "is_deleted", "boolean", required=True, doc="deleted in the source (soft, or found gone by reconcile)"),
    )
    + _conformed_lineage(23),
    key=("order_id",),
    partition=(PartitionField("order_ts", "month"),),
    sort=("order_ts", "order_id"),
    immutable=("order_ts",),
    layout_rationale=(
        "month(order_ts): an incremental batch of new orders lands in one or two partitions (one file each), "
        "time-range reads prune by month, and a month of ShopSphere orders is a well-sized file; day() would "
        "write ~30x more, smaller files for the same data."
    ),
)

ORDER_ITEMS = TableDef(
    layer=Layer.CONFORMED,
    name="order_items",
    doc="Order lines of every channel; marketplace lines matched to the catalogue by product name.",
    columns=(
        C(1, "order_id", "string", required=True),
        C(2, "line_no", "int", required=True),
        C(3, "product_id", "string"),
        C(4, "product_name", "string"),
        C(5, "product_matched", "boolean", doc="false when a marketplace title matched no catalogue product"),
        C(6, "quantity", "int"),
        C(7, "unit_price", MONEY),
        C(8, "currency", "string", doc="the line's currency when the source gives one (marketplaces)"),
        C(9, "updated_at", "timestamptz", required=True),
        C(10, "is_deleted", "boolean", required=True),
    )
    + _conformed_lineage(11),
    key=("order_id", "line_no"),
    sort=("order_id", "line_no"),
    layout_rationale=(
        "unpartitioned, sorted by order_id: lines are merged by (order_id, line_no) and read by order, with no "
        "timestamp of their own; batches arrive in order-id order, so each file spans a narrow id range that "
        "merges skip by its bounds."
    ),
)

MARKETPLACE_ORDERS = TableDef(
    layer=Layer.CONFORMED,
    name="marketplace_orders",
    doc="Marketplace orders mapped from each platform's document shape to one model.",
    columns=(
        C(1, "platform", "string", required=True),
        C(2, "marketplace_order_id", "string", required=True),
        C(3, "doc_id", "string"),
        C(4, "buyer_id", "string", pii=True, doc="platform:buyer handle (relay e-mail or username)"),
        C(5, "buyer_email", "string", pii=True),
        C(6, "buyer_name", "string", pii=True),
        C(7, "phone", "string", pii=True),
        C(8, "street", "string", pii=True),
        C(9, "city", "string"),
        C(10, "postcode", "string", pii=True),
        C(11, "country", "string"),
        C(12, "status", "string"),
        C(13, "currency", "string"),
        C(14, "total_amount", MONEY),
        C(15, "order_ts", "timestamptz", required=True),
        C(16, "updated_at", "timestamptz", required=True),
        C(17, "extra", "string", doc="fields of the document not mapped to a column, as JSON"),
    )
    + _conformed_lineage(18),
    key=("platform", "marketplace_order_id"),
    partition=(PartitionField("order_ts", "month"),),
    immutable=("order_ts",),
    sort=("order_ts",),
    layout_rationale="month(order_ts), as orders.",
)

PRODUCTS = TableDef(
    layer=Layer.CONFORMED,
    name="products",
    doc="The product catalogue.",
    columns=PRODUCT_COLUMNS + _conformed_lineage(8),
    key=("product_id",),
    sort=("product_id",),
    layout_rationale="unpartitioned: thousands of rows, read whole to match marketplace titles.",
)

STORES = TableDef(
    layer=Layer.CONFORMED,
    name="stores",
    doc="Physical stores.",
    columns=STORE_COLUMNS + _conformed_lineage(9),
    key=("store_id",),
    sort=("store_id",),
    layout_rationale="unpartitioned: a few hundred rows.",
)

INVENTORY_SNAPSHOTS = TableDef(
    layer=Layer.CONFORMED,
    name="inventory_snapshots",
    doc="Stock on hand per store and product at each snapshot time.",
    columns=INVENTORY_COLUMNS
    + (C(6, "available", "int", doc="on_hand - reserved, never below zero"),)
    + _conformed_lineage(7),
    key=("store_id", "product_id", "snapshot_ts"),
    partition=(PartitionField("snapshot_ts", "day"),),
    sort=("product_id", "store_id"),
    layout_rationale=(
        "day(snapshot_ts): stores send a snapshot per day, so one day is one append and one file; 'stock as of "
        "a time' reads prune to a single day, sorted by product so a product's rows sit together."
    ),
)

EVENTS = TableDef(
    layer=Layer.CONFORMED,
    name="events",
    doc="Behavioural events; known fields promoted to columns, the rest of metadata kept as JSON.",
    columns=(
        C(1, "event_id", "string", required=True),
        C(2, "event_type", "string", required=True),
        C(3, "event_ts", "timestamptz", required=True),
        C(4, "device_id", "string", pii=True),
        C(5, "user_id", "long"),
        C(6, "session_id", "string"),
        C(7, "product_id", "string"),
        C(8, "order_id", "long"),
        C(9, "page_url", "string"),
        C(10, "referrer", "string"),
        C(11, "user_agent", "string"),
        C(12, "search_query", "string"),
        C(13, "login_success", "boolean"),
        C(14, "quantity", "int"),
        C(15, "price", MONEY),
        C(16, "metadata", "string", doc="metadata fields not promoted to columns, as JSON"),
        C(17, "_topic", "string", doc="Kafka topic, or the file it was loaded from"),
        C(18, "_partition", "int"),
        C(19, "_offset", "long"),
    )
    + _conformed_lineage(20),
    key=("event_id",),
    partition=(PartitionField("event_ts", "day"),),
    immutable=("event_ts",),
    sort=("event_ts",),
    layout_rationale=(
        "day(event_ts): the highest-volume table; a stream micro-batch lands in today's partition (one file), "
        "late events go to their own day, and retention and compaction work a day at a time."
    ),
)

CONFORMED_TABLES = (USERS, ORDERS, ORDER_ITEMS, MARKETPLACE_ORDERS, PRODUCTS, STORES, INVENTORY_SNAPSHOTS, EVENTS)
