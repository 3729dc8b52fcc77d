"""Products, stores and inventory: the reference data every order points at."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

from sample_data.formats import DAY_S, WINDOW_END_S, WINDOW_START_S, UniqueIds, between, digits, iso_s, pick
from sample_data.places import make_address
from sample_data.vocab import CATEGORIES, PRODUCT_LINES

STORE_OPEN_FROM_S = WINDOW_START_S - 10 * 365 * DAY_S
SNAPSHOT_DAYS = 14
SNAPSHOT_HOUR_S = 6 * 3_600


@dataclass(slots=True)
class Product:
    """A sellable item; off-catalogue ones (in_catalog False) only appear on marketplaces."""

    product_id: str
    sku: str
    name: str
    category: str
    price_cents: int
    updated_s: int
    asin: str
    walmart_sku: str
    in_catalog: bool


@dataclass(slots=True)
class Store:
    """A physical shop with its shared in-store kiosk."""

    index: int
    store_id: str
    name: str
    city: str
    postcode: str
    country: str
    opened_s: int
    updated_s: int

    @property
    def kiosk_device_id(self) -> str:
        """The shared kiosk device: one id, many people."""
        return f"kiosk-{self.store_id}"

    @property
    def currency(self) -> str:
        """Till currency follows the store's country."""
        return "GBP" if self.country == "GB" else "USD"


def product_count(customers: int) -> int:
    """~200 products for small runs, growing mildly with customers, capped at 5000."""
    return min(5000, 200 + customers // 25)


def store_count(customers: int) -> int:
    """~10 stores for small runs, capped at 200."""
    return min(200, 10 + customers // 2000)


def build_products(rng: random.Random, count: int, names: UniqueIds, *, in_catalog: bool) -> list[Product]:
    """Products with unique realistic names ("Trailblazer Waterproof Hiking Boot")."""
    products: list[Product] = []
    categories = list(CATEGORIES)
    while len(products) < count:
        category = pick(rng, categories)
        code, nouns, features, (low, high) = CATEGORIES[category]
        name = f"{pick(rng, PRODUCT_LINES)} {pick(rng, features)} {pick(rng, nouns)}"
        if not names.claim(name):
            continue
        number = len(products) + 1
        products.append(
            Product(
                product_id=f"P{number:05d}" if in_catalog else "",
                sku=f"SS-{code}-{10000 + number * 7:06d}" if in_catalog else f"MKT-{code}-{digits(rng, 6)}",
                name=name,
                category=category,
                price_cents=between(rng, low, high) * 100 - pick(rng, (1, 1, 1, 51, 100)),
                updated_s=between(rng, WINDOW_START_S, WINDOW_END_S),
                asin="B0" + "".join(pick(rng, "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789") for _ in range(8)),
                walmart_sku=digits(rng, 9),
                in_catalog=in_catalog,
            )
        )
    return products


def build_stores(rng: random.Random, count: int) -> list[Store]:
    """Stores spread over the known cities, a few of them in GB."""
    stores: list[Store] = []
    for index in range(count):
        country = "GB" if index % 5 == 4 else "US"
        address = make_address(rng, country)
        opened = between(rng, STORE_OPEN_FROM_S, WINDOW_START_S)
        stores.append(
            Store(
                index=index,
                store_id=f"S{index + 1:03d}",
                name=f"ShopSphere {address.city} {address.street.split(' ', 1)[1]}",
                city=address.city,
                postcode=address.postcode,
                country=country,
                opened_s=opened,
                updated_s=between(rng, WINDOW_START_S, WINDOW_END_S),
            )
        )
    return stores


def inventory_rows(rng: random.Random, stores: list[Store], products: list[Product]) -> Iterator[list[str]]:
    """Daily on-hand/reserved counts for a subset of products per store over the last two weeks."""
    per_store = min(len(products), 20 + len(stores) // 3)
    first_day = (WINDOW_END_S // DAY_S - (SNAPSHOT_DAYS - 1)) * DAY_S
    for store in stores:
        for product in sorted(rng.sample(products, per_store), key=lambda p: p.product_id):
            on_hand = between(rng, 4, 120)
            for day in range(SNAPSHOT_DAYS):
                on_hand = max(0, on_hand - between(rng, 0, 9)) if on_hand > 6 else on_hand + between(rng, 20, 60)
                reserved = between(rng, 0, min(on_hand, 6))
                ts = first_day + day * DAY_S + SNAPSHOT_HOUR_S
                yield [store.store_id, product.product_id, iso_s(ts), str(on_hand), str(reserved)]
