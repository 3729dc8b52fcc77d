"""Everything that must exist before activity starts: catalogue, stores, people, accounts, fraud roles."""

from __future__ import annotations

import random
from dataclasses import dataclass

from sample_data.catalog import (
    Product,
    Store,
    build_products,
    build_stores,
    inventory_rows,
    product_count,
    store_count,
)
from sample_data.formats import UniqueIds, iso_s, money
from sample_data.fraud import Label, assign_roles, pick_victims, prepare_accounts, user_labels
from sample_data.people import (
    Account,
    Device,
    Person,
    Registry,
    build_accounts,
    build_people,
    finish_accounts,
    user_row,
)
from sample_data.vocab import KIOSK_USER_AGENT
from sample_data.writer import Outputs


@dataclass(slots=True)
class World:
    """The cast and the shop, fixed before any order or event is drawn."""

    products: list[Product]
    off_catalog: list[Product]
    stores: list[Store]
    kiosks: dict[str, Device]
    people: list[Person]
    accounts: list[Account]
    labels: list[Label]


def build_world(rng: random.Random, customers: int) -> World:
    """Draw catalogue, stores, people and accounts, and cast the fraudsters."""
    reg = Registry()
    names = UniqueIds()
    products = build_products(rng, product_count(customers), names, in_catalog=True)
    off_catalog = build_products(rng, max(20, len(products) // 10), names, in_catalog=False)
    stores = build_stores(rng, store_count(customers))
    kiosks = {s.store_id: Device(s.kiosk_device_id, KIOSK_USER_AGENT, None) for s in stores}
    # 1. people and their households; 2. fraud roles (some need accounts or devices);
    # 3. accounts; 4. fraud-shaped accounts; 5. user ids by creation time; 6. takeover victims.
    people = build_people(rng, customers, stores, reg)
    assign_roles(rng, people, reg)
    build_accounts(rng, people, reg)
    prepare_accounts(rng, people, reg)
    accounts = finish_accounts(rng, people)
    labels = user_labels(people)
    pick_victims(rng, people)
    return World(products, off_catalog, stores, kiosks, people, accounts, labels)


def write_reference(rng: random.Random, world: World, out: Outputs) -> None:
    """Write the files that need no activity: products, stores, inventory, users, persons, devices."""
    for p in world.products:
        out.row("products.csv", [p.product_id, p.sku, p.name, p.category, money(p.price_cents), "USD",
                                 iso_s(p.updated_s)])  # fmt: skip
    for s in world.stores:
        out.row("stores.csv", [s.store_id, s.name, s.city, s.postcode, s.country, s.kiosk_device_id,
                               iso_s(s.opened_s), iso_s(s.updated_s)])  # fmt: skip
    for row in inventory_rows(rng, world.stores, world.products):
        out.row("inventory_snapshots.csv", row)
    for account in world.accounts:
        out.row("users.csv", user_row(account))
        out.truth("users", str(account.user_id), account.owner.person_id)
    for person in world.people:
        out.row("truth/persons.csv", [person.person_id, person.first_name, person.last_name, person.email,
                                      person.phone, person.household_id])  # fmt: skip
        devices = [*person.devices, *([person.fraud_device] if person.fraud_device else [])]
        for device in devices:
            out.row("truth/devices.csv", [device.device_id, person.person_id])
    for kiosk in world.kiosks.values():
        out.row("truth/devices.csv", [kiosk.device_id, ""])
