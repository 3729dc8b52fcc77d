"""The entities ingestion knows: where each lands raw, how it is keyed and ordered, how it conforms.

An entity is a source table (PostgreSQL), collection (MongoDB), topic (Kafka) or the file that
stands for one. Its raw table is the commit of record; its primary conformed table records which
raw snapshot it has taken in, so a crash between the two commits is caught up from raw.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa

from ingest import normalize
from ingest.events import conform_events
from ingest.marketplace import conform_marketplace
from ingest.model import Conformed, ConformEnv
from schema import lake as tables
from schema.model import TableDef


@dataclass(frozen=True)
class Entity:
    """One source entity and its path through the lakehouse."""

    name: str
    raw: TableDef
    key: tuple[str, ...]
    position: tuple[str, ...]
    primary: TableDef
    conform: Callable[[pa.Table, ConformEnv], Conformed]

    @property
    def source_columns(self) -> tuple[str, ...]:
        """The raw table's columns that come from the source (its lineage columns left out)."""
        return tuple(c.name for c in self.raw.columns if not c.name.startswith("_"))


PRODUCTS = Entity(
    "products", tables.RAW_PG_PRODUCTS, ("product_id",), ("updated_at", "product_id"), tables.PRODUCTS,
    normalize.products,
)  # fmt: skip
STORES = Entity(
    "stores", tables.RAW_PG_STORES, ("store_id",), ("updated_at", "store_id"), tables.STORES, normalize.stores
)
USERS = Entity("users", tables.RAW_PG_USERS, ("user_id",), ("updated_at", "user_id"), tables.USERS, normalize.users)
ORDERS = Entity(
    "orders", tables.RAW_PG_ORDERS, ("order_id",), ("updated_at", "order_id"), tables.ORDERS, normalize.orders
)
ORDER_ITEMS = Entity(
    "order_items", tables.RAW_PG_ORDER_ITEMS, ("order_id", "line_no"), ("updated_at", "order_id", "line_no"),
    tables.ORDER_ITEMS, normalize.order_items,
)  # fmt: skip
INVENTORY_SNAPSHOTS = Entity(
    "inventory_snapshots", tables.RAW_PG_INVENTORY, ("store_id", "product_id", "snapshot_ts"),
    ("snapshot_ts", "store_id", "product_id"), tables.INVENTORY_SNAPSHOTS, normalize.inventory,
)  # fmt: skip
MARKETPLACE_ORDERS = Entity(
    "marketplace_orders", tables.RAW_MONGO_MARKETPLACE_ORDERS, ("doc_id",), ("updated_at", "doc_id"),
    tables.MARKETPLACE_ORDERS, conform_marketplace,
)  # fmt: skip
EVENTS = Entity(
    "events", tables.RAW_EVENTS, ("topic", "partition", "offset"), ("topic", "partition", "offset"), tables.EVENTS,
    conform_events,
)  # fmt: skip

# PostgreSQL tables in the order a run takes them: the catalogue first (marketplace titles match it).
POSTGRES_ENTITIES = (PRODUCTS, STORES, USERS, ORDERS, ORDER_ITEMS, INVENTORY_SNAPSHOTS)
ALL_ENTITIES = (*POSTGRES_ENTITIES, MARKETPLACE_ORDERS, EVENTS)


def entity_named(name: str) -> Entity:
    """The entity called `name` (its source table name); KeyError listing the known ones."""
    for entity in ALL_ENTITIES:
        if entity.name == name:
            return entity
    raise KeyError(f"unknown entity {name!r}; known: {', '.join(e.name for e in ALL_ENTITIES)}")
