"""Every lakehouse table as code: columns with field ids, keys, partition specs, sort orders.

Raw tables land each source as read (append-only, with lineage); conformed tables hold one cleaned,
typed model of ShopSphere (users with SCD Type 2 history, unified orders, events); gold tables hold
the Customer 360 built from them. `design_doc.md` explains each layout choice; `c360 schema docs`
renders `schema/ddl/*.sql` and `schema/erd.mmd`/`erd.png` from this module.
"""

from __future__ import annotations

from schema.model import Column as C
from schema.model import Layer, PartitionField, Relationship, TableDef

# Snapshot summary property keys written by the service (read back by workers on start).
PROP_SOURCE = "c360.source"
PROP_BATCH_ID = "c360.batch-id"
PROP_WATERMARK = "c360.watermark"
PROP_KAFKA_OFFSETS = "c360.kafka-offsets"
PROP_BUILD_ID = "c360.build-id"
PROP_OPERATION = "c360.operation"

# Table properties shared by every table.
BASE_PROPERTIES = {
    "format-version": "2",
    "write.parquet.compression-codec": "zstd",
    "write.metadata.delete-after-commit.enabled": "true",
    "write.metadata.previous-versions-max": "20",
}

MONEY = "decimal(12,2)"


def _raw_lineage(first_id: int) -> tuple[C, ...]:
    """Lineage columns every raw landing table carries."""
    return (
        C(
            first_id,
            "_source",
            "string",
            required=True,
            doc="where the row came from, e.g. postgres:public.users",
        ),
        C(first_id + 1, "_batch_id", "string", required=True, doc="ingestion batch that wrote the row"),
        C(first_id + 2, "_ingested_at", "timestamptz", required=True, doc="when the batch was committed"),
        C(
            first_id + 3,
            "_watermark",
            "string",
            doc="source position of the row: (updated_at, key) or offset",
        ),
    )


def _conformed_lineage(first_id: int) -> tuple[C, ...]:
    """Lineage columns every conformed table carries."""
    return (
        C(first_id, "_batch_id", "string", required=True, doc="ingestion batch that last wrote the row"),
        C(first_id + 1, "_ingested_at", "timestamptz", required=True, doc="when that batch was committed"),
    )


_RAW_LAYOUT = (
    "day(_ingested_at): raw tables are append-only; every batch writes one file into today's partition, "
    "and retention or a replay of a day touches only that day's files."
)

_USER_COLUMNS = (
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

_PG_ORDER_COLUMNS = (
    C(1, "order_id", "long", required=True),
    C(2, "channel", "string", doc="web or pos"),
    C(3, "user_id", "long"),
    C(4, "store_id", "string"),
    C(5, "loyalty_id", "string", pii=True),
    C(6, "phone", "string", pii=True),
    C(7, "email", "string", pii=True),
    C(8, "device_id", "string"),
    C(9, "status", "string"),
    C(10, "currency", "string"),
    C(11, "total_amount", MONEY),
    C(12, "order_ts", "timestamptz"),
    C(13, "updated_at", "timestamptz", required=True),
    C(14, "deleted_at", "timestamptz"),
)

_ORDER_ITEM_COLUMNS = (
    C(1, "order_id", "long", required=True),
    C(2, "line_no", "int", required=True),
    C(3, "product_id", "string"),
    C(4, "quantity", "int"),
    C(5, "unit_price", MONEY),
    C(6, "updated_at", "timestamptz", required=True),
)

_PRODUCT_COLUMNS = (
    C(1, "product_id", "string", required=True),
    C(2, "sku", "string"),
    C(3, "name", "string"),
    C(4, "category", "string"),
    C(5, "list_price", MONEY),
    C(6, "currency", "string"),
    C(7, "updated_at", "timestamptz", required=True),
)

_STORE_COLUMNS = (
    C(1, "store_id", "string", required=True),
    C(2, "name", "string"),
    C(3, "city", "string"),
    C(4, "postcode", "string"),
    C(5, "country", "string"),
    C(6, "kiosk_device_id", "string", doc="the shared in-store kiosk; never an identity link on its own"),
    C(7, "opened_at", "timestamptz"),
    C(8, "updated_at", "timestamptz", required=True),
)

_INVENTORY_COLUMNS = (
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


RAW_PG_USERS = _raw("pg_users", "Every version of a PostgreSQL users row as read.", _USER_COLUMNS)
RAW_PG_ORDERS = _raw("pg_orders", "Web and till orders as read from PostgreSQL.", _PG_ORDER_COLUMNS)
RAW_PG_ORDER_ITEMS = _raw("pg_order_items", "Order lines as read from PostgreSQL.", _ORDER_ITEM_COLUMNS)
RAW_PG_PRODUCTS = _raw("pg_products", "The product catalogue as read from PostgreSQL.", _PRODUCT_COLUMNS)
RAW_PG_STORES = _raw("pg_stores", "Stores as read from PostgreSQL.", _STORE_COLUMNS)
RAW_PG_INVENTORY = _raw(
    "pg_inventory_snapshots", "Per-store stock snapshots as read from PostgreSQL.", _INVENTORY_COLUMNS
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

USERS = TableDef(
    layer=Layer.CONFORMED,
    name="users",
    doc="ShopSphere accounts with SCD Type 2 history: one row per version of the tracked attributes.",
    columns=_USER_COLUMNS
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
        C(1, "order_id", "string", required=True, doc="source:id, e.g. web:1042, pos:77, amazon:114-39..."),
        C(2, "source", "string", required=True, doc="web, pos or marketplace"),
        C(3, "platform", "string", required=True, doc="shopsphere, amazon, ebay or walmart"),
        C(4, "source_order_id", "string", required=True),
        C(5, "user_id", "long"),
        C(6, "store_id", "string"),
        C(7, "loyalty_id", "string", pii=True),
        C(8, "email", "string", pii=True),
        C(9, "phone", "string", pii=True),
        C(10, "device_id", "string"),
        C(11, "marketplace_buyer_id", "string", pii=True, doc="platform:buyer handle"),
        C(12, "buyer_name", "string", pii=True),
        C(13, "ship_street", "string", pii=True),
        C(14, "ship_city", "string"),
        C(15, "ship_postcode", "string", pii=True),
        C(16, "ship_country", "string"),
        C(17, "status", "string"),
        C(18, "currency", "string"),
        C(19, "total_amount", MONEY),
        C(20, "item_count", "int"),
        C(21, "order_ts", "timestamptz", required=True),
        C(22, "updated_at", "timestamptz", required=True),
        C(23, "is_deleted", "boolean", required=True, doc="soft-deleted in the source"),
    )
    + _conformed_lineage(24),
    key=("order_id",),
    partition=(PartitionField("order_ts", "month"),),
    sort=("order_ts", "order_id"),
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
        C(8, "currency", "string"),
        C(9, "order_ts", "timestamptz", required=True, doc="copied from the order for partitioning"),
    )
    + _conformed_lineage(10),
    key=("order_id", "line_no"),
    partition=(PartitionField("order_ts", "month"),),
    sort=("order_id", "line_no"),
    layout_rationale="month(order_ts), like orders, so an order and its lines live in the same month.",
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
    sort=("order_ts",),
    layout_rationale="month(order_ts), as orders.",
)

PRODUCTS = TableDef(
    layer=Layer.CONFORMED,
    name="products",
    doc="The product catalogue.",
    columns=_PRODUCT_COLUMNS + _conformed_lineage(8),
    key=("product_id",),
    sort=("product_id",),
    layout_rationale="unpartitioned: thousands of rows, read whole to match marketplace titles.",
)

STORES = TableDef(
    layer=Layer.CONFORMED,
    name="stores",
    doc="Physical stores.",
    columns=_STORE_COLUMNS + _conformed_lineage(9),
    key=("store_id",),
    sort=("store_id",),
    layout_rationale="unpartitioned: a few hundred rows.",
)

INVENTORY_SNAPSHOTS = TableDef(
    layer=Layer.CONFORMED,
    name="inventory_snapshots",
    doc="Stock on hand per store and product at each snapshot time.",
    columns=_INVENTORY_COLUMNS
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
        C(4, "device_id", "string"),
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
    sort=("event_ts",),
    layout_rationale=(
        "day(event_ts): the highest-volume table; a stream micro-batch lands in today's partition (one file), "
        "late events go to their own day, and retention and compaction work a day at a time."
    ),
)

CUSTOMERS = TableDef(
    layer=Layer.GOLD,
    name="customers",
    doc="Golden customers: one row per resolved person with the surviving attribute values.",
    columns=(
        C(1, "customer_id", "string", required=True, doc="stable id, e.g. C-3f9a0c21d4e5"),
        C(2, "first_name", "string", pii=True),
        C(3, "last_name", "string", pii=True),
        C(4, "email", "string", pii=True),
        C(5, "phone", "string", pii=True),
        C(6, "dob", "date", pii=True),
        C(7, "street", "string", pii=True),
        C(8, "city", "string"),
        C(9, "postcode", "string", pii=True),
        C(10, "country", "string"),
        C(11, "loyalty_id", "string", pii=True),
        C(12, "lineage", "string", doc="JSON: attribute -> source record and rule that supplied it"),
        C(13, "record_count", "int"),
        C(14, "first_seen", "timestamptz"),
        C(15, "last_seen", "timestamptz"),
        C(16, "build_id", "string", required=True),
    ),
    key=("customer_id",),
    sort=("customer_id",),
    layout_rationale="unpartitioned, sorted by customer_id: rebuilt per identity run; served from the store.",
)

IDENTITY_LINKS = TableDef(
    layer=Layer.GOLD,
    name="identity_links",
    doc="Which source records and normalised identifiers belong to which golden customer, and why.",
    columns=(
        C(1, "customer_id", "string", required=True),
        C(2, "link_type", "string", required=True, doc="record or identifier"),
        C(
            3,
            "kind",
            "string",
            required=True,
            doc="record source table, or identifier kind (email, phone, ...)",
        ),
        C(4, "value", "string", required=True, pii=True, doc="record key, or normalised identifier value"),
        C(5, "rule", "string", doc="how it was linked, e.g. exact:email"),
        C(6, "confidence", "double"),
        C(7, "build_id", "string", required=True),
    ),
    key=("link_type", "kind", "value"),
    sort=("customer_id",),
    layout_rationale="unpartitioned, sorted by customer_id: rebuilt per identity run; served from the store.",
)

CUSTOMER_METRICS = TableDef(
    layer=Layer.GOLD,
    name="customer_metrics",
    doc="Order and activity metrics per golden customer, overall and per channel.",
    columns=(
        C(1, "customer_id", "string", required=True),
        C(2, "order_count", "int", required=True),
        C(3, "lifetime_value", MONEY, required=True),
        C(4, "average_order_value", MONEY),
        C(5, "first_order_ts", "timestamptz"),
        C(6, "last_order_ts", "timestamptz"),
        C(7, "web_order_count", "int", required=True),
        C(8, "web_value", MONEY, required=True),
        C(9, "pos_order_count", "int", required=True),
        C(10, "pos_value", MONEY, required=True),
        C(11, "marketplace_order_count", "int", required=True),
        C(12, "marketplace_value", MONEY, required=True),
        C(13, "event_count", "int", required=True),
        C(14, "last_event_ts", "timestamptz"),
        C(15, "build_id", "string", required=True),
    ),
    key=("customer_id",),
    sort=("customer_id",),
    layout_rationale="unpartitioned: one row per customer, rebuilt with the identity run.",
)

QUARANTINE = TableDef(
    layer=Layer.OPS,
    name="quarantine",
    doc="Records that could not be loaded, with the reason; nothing read is ever dropped silently.",
    columns=(
        C(1, "quarantine_id", "string", required=True),
        C(
            2,
            "source",
            "string",
            required=True,
            doc="e.g. file:orders.csv, postgres:public.orders, kafka:events",
        ),
        C(3, "entity", "string", required=True, doc="target table, e.g. orders"),
        C(4, "record_key", "string", doc="the record's key when it could be read"),
        C(5, "payload", "string", pii=True, doc="the raw record as JSON"),
        C(
            6,
            "reason_code",
            "string",
            required=True,
            doc="e.g. invalid_type, missing_field, unknown_event_type",
        ),
        C(7, "column_name", "string"),
        C(8, "message", "string"),
        C(9, "batch_id", "string", required=True),
        C(10, "source_position", "string", doc="offset or watermark of the record in its source"),
        C(11, "quarantined_at", "timestamptz", required=True),
    ),
    key=("quarantine_id",),
    partition=(PartitionField("quarantined_at", "month"),),
    layout_rationale="month(quarantined_at): low volume; reviews and replays look at recent months.",
)

RAW_TABLES = (
    RAW_PG_USERS,
    RAW_PG_ORDERS,
    RAW_PG_ORDER_ITEMS,
    RAW_PG_PRODUCTS,
    RAW_PG_STORES,
    RAW_PG_INVENTORY,
    RAW_MONGO_MARKETPLACE_ORDERS,
)
CONFORMED_TABLES = (
    USERS,
    ORDERS,
    ORDER_ITEMS,
    MARKETPLACE_ORDERS,
    PRODUCTS,
    STORES,
    INVENTORY_SNAPSHOTS,
    EVENTS,
)
GOLD_TABLES = (CUSTOMERS, IDENTITY_LINKS, CUSTOMER_METRICS)
OPS_TABLES = (QUARANTINE,)
ALL_TABLES: tuple[TableDef, ...] = RAW_TABLES + CONFORMED_TABLES + GOLD_TABLES + OPS_TABLES

# Tracked attributes of users: a change to any of them opens a new SCD2 version.
USER_TRACKED_ATTRIBUTES = ("email", "phone", "first_name", "last_name", "loyalty_id")

RELATIONSHIPS = (
    Relationship("orders", "user_id", "users", "user_id", "placed by"),
    Relationship("orders", "store_id", "stores", "store_id", "rung up at"),
    Relationship("order_items", "order_id", "orders", "order_id", "line of"),
    Relationship("order_items", "product_id", "products", "product_id", "sells"),
    Relationship("orders", "source_order_id", "marketplace_orders", "marketplace_order_id", "detailed by"),
    Relationship("inventory_snapshots", "store_id", "stores", "store_id", "stock of"),
    Relationship("inventory_snapshots", "product_id", "products", "product_id", "counts"),
    Relationship("events", "user_id", "users", "user_id", "done by"),
    Relationship("events", "order_id", "orders", "source_order_id", "completes"),
    Relationship("identity_links", "customer_id", "customers", "customer_id", "links"),
    Relationship("customer_metrics", "customer_id", "customers", "customer_id", "measures"),
)


def table_properties(table: TableDef) -> dict[str, str]:
    """Iceberg table properties: shared defaults, no value bounds for PII columns, then the table's own.

    Manifests keep per-column lower/upper bounds; for personal columns the `counts` metrics mode
    keeps counts only, so no e-mail or name prefix survives in metadata after an erasure.
    """
    pii_metrics = {f"write.metadata.metrics.column.{name}": "counts" for name in table.pii_columns}
    return {**BASE_PROPERTIES, **pii_metrics, **table.properties}


def table_by_name(full_name: str) -> TableDef:
    """Look a table up by `namespace.name` or bare name; KeyError listing the known names if absent."""
    for table in ALL_TABLES:
        if full_name in (table.full_name, table.name):
            return table
    raise KeyError(f"unknown table {full_name!r}; known: {', '.join(t.full_name for t in ALL_TABLES)}")
