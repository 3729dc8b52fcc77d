"""Raw landing tables: each source as read, append-only, with where and when every row came from.

A raw table is the commit of record for a source: its snapshot summary carries the source position
(watermark, checksum or offsets) of the rows it holds, and conformed tables are derived from it.
"""

from __future__ import annotations

from schema.model import MONEY, Layer, PartitionField, TableDef
from schema.model import Column as C

OP_UPSERT = "upsert"
OP_DELETE = "delete"


def _raw_lineage(first_id: int) -> tuple[C, ...]:
    """Lineage columns every raw landing table carries."""
    return (
        C(first_id, "_source", "string", required=True, doc="where the row came from, e.g. postgres:public.users"),
        C(first_id + 1, "_batch_id", "string", required=True, doc="ingestion batch that wrote the row"),
        C(first_id + 2, "_ingested_at", "timestamptz", required=True, doc="when the batch was committed"),
        C(first_id + 3, "_watermark", "string", doc="where the row is in its source: its position, line or offset"),
        C(first_id + 4, "_op", "string", required=True, doc="upsert, or delete for a key gone from the source"),
    )


_RAW_LAYOUT = (
    "day(_ingested_at): raw tables are append-only; every batch writes one file into today's partition, "
    "and retention or a replay of a day touches only that day's files."
)

USER_COLUMNS = (
    C(1, "user_id", "long", required=True, doc="PostgreSQL users.user_id"),
    C(2, "email", "string", pii=True),
    C(3, "phone", "string", pii=True),
    C(4, "first_name", "string", pii=True),
    C(5, "last_name", "string", pii=True),
    C(6, "dob", "date", pii=True),
    C(7, "street", "string", pii=True),
    C(8, "city", "string"),
    C(9, "postcode", "string", pii=True),
    C(10, "country", "string"),
    C(11, "loyalty_id", "string", pii=True),
    C(12, "marketing_opt_in", "boolean"),
    C(13, "created_at", "timestamptz"),
    C(14, "updated_at", "timestamptz", required=True),
    C(15, "deleted_at", "timestamptz", doc="soft delete in the source"),
)

PG_ORDER_COLUMNS = (
    C(1, "order_id", "long", required=True),
    C(2, "channel", "string", doc="web or pos"),
    C(3, "user_id", "long"),
    C(4, "store_id", "string"),
    C(5, "loyalty_id", "string", pii=True),
    C(6, "phone", "string", pii=True),
    C(7, "email", "string", pii=True),
    C(8, "device_id", "string", pii=True),
    C(9, "status", "string"),
    C(10, "currency", "string"),
    C(11, "total_amount", MONEY),
    C(12, "order_ts", "timestamptz"),
    C(13, "updated_at", "timestamptz", required=True),
    C(14, "deleted_at", "timestamptz"),
)

ORDER_ITEM_COLUMNS = (
    C(1, "order_id", "long", required=True),
    C(2, "line_no", "int", required=True),
    C(3, "product_id", "string"),
    C(4, "quantity", "int"),
    C(5, "unit_price", MONEY),
    C(6, "updated_at", "timestamptz", required=True),
)

PRODUCT_COLUMNS = (
    C(1, "product_id", "string", required=True),
    C(2, "sku", "string"),
    C(3, "name", "string"),
    C(4, "category", "string"),
    C(5, "list_price", MONEY),
    C(6, "currency", "string"),
    C(7, "updated_at", "timestamptz", required=True),
)

STORE_COLUMNS = (
    C(1, "store_id", "string", required=True),
    C(2, "name", "string"),
    C(3, "city", "string"),
    C(4, "postcode", "string"),
    C(5, "country", "string"),
    C(6, "kiosk_device_id", "string", doc="the shared in-store kiosk; never an identity link on its own"),
    C(7, "opened_at", "timestamptz"),
    C(8, "updated_at", "timestamptz", required=True),
)

INVENTORY_COLUMNS = (
    C(1, "store_id", "string", required=True),
    C(2, "product_id", "string", required=True),
    C(3, "snapshot_ts", "timestamptz", required=True),
    C(4, "on_hand", "int"),
    C(5, "reserved", "int"),
)


def _raw(name: str, doc: str, columns: tuple[C, ...]) -> TableDef:
    """A raw landing table: the source columns plus lineage, partitioned by ingestion day."""
    return TableDef(
        layer=Layer.RAW,
        name=name,
        doc=doc,
        columns=columns + _raw_lineage(len(columns) + 1),
        partition=(PartitionField("_ingested_at", "day"),),
        layout_rationale=_RAW_LAYOUT,
    )


RAW_PG_USERS = _raw("pg_users", "Every version of a PostgreSQL users row as read.", USER_COLUMNS)
RAW_PG_ORDERS = _raw("pg_orders", "Web and till orders as read from PostgreSQL.", PG_ORDER_COLUMNS)
RAW_PG_ORDER_ITEMS = _raw("pg_order_items", "Order lines as read from PostgreSQL.", ORDER_ITEM_COLUMNS)
RAW_PG_PRODUCTS = _raw("pg_products", "The product catalogue as read from PostgreSQL.", PRODUCT_COLUMNS)
RAW_PG_STORES = _raw("pg_stores", "Stores as read from PostgreSQL.", STORE_COLUMNS)
RAW_PG_INVENTORY = _raw(
    "pg_inventory_snapshots", "Per-store stock snapshots as read from PostgreSQL.", INVENTORY_COLUMNS
)
RAW_MONGO_MARKETPLACE_ORDERS = _raw(
    "mongo_marketplace_orders",
    "Marketplace order documents (Amazon, eBay, Walmart) as read from MongoDB, kept whole as JSON.",
    (
        C(1, "doc_id", "string", required=True, doc="MongoDB _id"),
        C(2, "platform", "string"),
        C(3, "updated_at", "timestamptz", doc="the platform's last-modified time"),
        C(4, "document", "string", pii=True, doc="the whole document as JSON"),
    ),
)
RAW_EVENTS = _raw(
    "events",
    "Behavioural event messages exactly as received (valid or not), with their topic, partition and offset.",
    (
        C(1, "topic", "string", required=True, doc="Kafka topic, or file:<name> for a file source"),
        C(2, "partition", "int", required=True),
        C(3, "offset", "long", required=True),
        C(4, "message_key", "string", pii=True),
        C(5, "payload", "string", pii=True, doc="the message value as received"),
        C(6, "received_at", "timestamptz", doc="the broker's timestamp of the message"),
    ),
)

RAW_TABLES = (
    RAW_PG_USERS,
    RAW_PG_ORDERS,
    RAW_PG_ORDER_ITEMS,
    RAW_PG_PRODUCTS,
    RAW_PG_STORES,
    RAW_PG_INVENTORY,
    RAW_MONGO_MARKETPLACE_ORDERS,
    RAW_EVENTS,
)
