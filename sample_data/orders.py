"""Each person's orders on the web, at the till and on marketplaces, before any ids are assigned.

Order noise injected here: web checkout e-mails that differ in form from the account e-mail,
guest checkouts, till orders keyed by loyalty id or a typed phone (sometimes a junk one shared
by many strangers, sometimes neither), and marketplace baskets with items not in products.csv.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from sample_data.catalog import Product, Store
from sample_data.formats import DAY_S, HOUR_S, WINDOW_END_S, between, pick, to_gbp, weighted
from sample_data.noise import email_variant, format_phone
from sample_data.people import Account, Device, Person, live_accounts
from sample_data.vocab import JUNK_EMAILS, JUNK_PHONES

MARKETPLACES = ("amazon", "ebay", "walmart")
ORDER_DELETE_RATE = 0.003


@dataclass(slots=True)
class Line:
    """One basket line; unit_cents is already in the order currency."""

    product: Product
    quantity: int
    unit_cents: int


@dataclass(slots=True, eq=False)
class Order:
    """An order in any channel; order_id is given once all orders are sorted by time."""

    seq: int
    person: Person
    channel: str  # web | pos | amazon | ebay | walmart
    ts_s: int
    lines: list[Line]
    currency: str
    account: Account | None = None
    store: Store | None = None
    device: Device | None = None
    email: str = ""
    phone: str = ""
    loyalty_id: str = ""
    status: str = "placed"
    updated_s: int = 0
    deleted_s: int | None = None
    fraud: str = ""
    bot: bool = False

    @property
    def total_cents(self) -> int:
        """Sum of quantity * unit price over the lines."""
        return sum(line.quantity * line.unit_cents for line in self.lines)


class OrderPlanner:
    """Draws orders for one person at a time from the shared catalogue."""

    def __init__(self, rng: random.Random, products: list[Product], off_catalog: list[Product],
                 stores: list[Store]) -> None:  # fmt: skip
        self.rng = rng
        self.products = products
        self.off_catalog = off_catalog
        self.stores = stores
        self.expensive = sorted(products, key=lambda p: (-p.price_cents, p.product_id))[: max(5, len(products) // 10)]
        self.seq = 0

    def new_order(self, person: Person, channel: str, ts_s: int, lines: list[Line], currency: str) -> Order:
        """Allocate an order with the next generation sequence number."""
        self.seq += 1
        order = Order(seq=self.seq, person=person, channel=channel, ts_s=ts_s, lines=lines, currency=currency)
        self.settle(order)
        return order

    def plan(self, person: Person) -> list[Order]:
        """All ordinary orders of person, oldest first."""
        rng = self.rng
        times: list[tuple[int, str]] = []
        if person.has_account:
            times += [(self._when(person), "web") for _ in range(pick(rng, (0, 1, 1, 2, 2, 3, 3, 4, 5, 7)))]
        elif person.shops_web:
            times += [(self._when(person), "web") for _ in range(pick(rng, (1, 1, 2)))]
        if person.shops_store:
            times += [(self._when(person), "pos") for _ in range(pick(rng, (1, 1, 2, 2, 3, 4, 6)))]
        if person.shops_market:
            times += [(self._when(person), "market") for _ in range(pick(rng, (1, 1, 1, 2, 3)))]
        times.sort()
        makers = {"web": self.web_order, "pos": self.pos_order, "market": self.market_order}
        return [makers[kind](person, ts) for ts, kind in times]

    def _when(self, person: Person) -> int:
        """A moment between the person's first activity and the end of the window."""
        return between(self.rng, person.active_from_s + HOUR_S, WINDOW_END_S - 600)

    def currency(self, person: Person) -> str:
        """Orders are paid in the buyer's home currency."""
        return "GBP" if person.address.country == "GB" else "USD"

    def basket(self, currency: str, *, marketplace: bool = False) -> list[Line]:
        """1-5 distinct products, mostly single units, some on sale."""
        rng = self.rng
        count = weighted(rng, (1, 2, 3, 4, 5), (50, 28, 14, 6, 2))
        lines: list[Line] = []
        for product in rng.sample(self.products, count):
            chosen = pick(rng, self.off_catalog) if marketplace and rng.random() < 0.15 else product
            if any(line.product is chosen for line in lines):
                chosen = product
            price = chosen.price_cents
            if marketplace:
                price = price * between(rng, 90, 110) // 100
            elif rng.random() < 0.12:
                price = price * between(rng, 70, 90) // 100
            price = to_gbp(price) if currency == "GBP" else price
            lines.append(Line(chosen, weighted(rng, (1, 2, 3), (82, 13, 5)), price))
        return lines

    def big_basket(self, currency: str, target_cents: int) -> list[Line]:
        """Expensive products in enough quantity to reach target_cents."""
        rng = self.rng
        lines = []
        for product in rng.sample(self.expensive, min(3, len(self.expensive))):
            price = to_gbp(product.price_cents) if currency == "GBP" else product.price_cents
            lines.append(Line(product, 1, price))
        while sum(line.quantity * line.unit_cents for line in lines) < target_cents:
            pick(rng, lines).quantity += 1
        return lines

    def web_order(self, person: Person, ts: int, account: Account | None = None) -> Order:
        """A web order, signed in when the person has a live account, else a guest checkout."""
        rng = self.rng
        currency = self.currency(person)
        order = self.new_order(person, "web", ts, self.basket(currency), currency)
        live = live_accounts(person, ts)
        order.account = account or ((live[0] if rng.random() < 0.75 else pick(rng, live)) if live else None)
        order.email = self._checkout_email(person, order.account)
        order.device = pick(rng, person.devices) if person.devices and rng.random() < 0.92 else None
        return order

    def _checkout_email(self, person: Person, account: Account | None) -> str:
        """Checkout e-mail: the account's, or the person's in another form, rarely junk for guests."""
        rng = self.rng
        usable = account is not None and "@" in account.email and account.email not in JUNK_EMAILS
        if account is not None and usable and rng.random() < 0.75:
            return account.email
        roll = rng.random()
        if account is None and roll < 0.03:
            return pick(rng, JUNK_EMAILS)
        return person.email if roll < 0.7 else email_variant(rng, person.email)

    def pos_order(self, person: Person, ts: int) -> Order:
        """A till order: keyed by loyalty id, a typed phone (maybe junk), or nothing at all."""
        rng = self.rng
        local = [s for s in self.stores if s.country == person.address.country] or self.stores
        store = person.home_store if person.home_store and rng.random() < 0.85 else pick(rng, local)
        order = self.new_order(person, "pos", ts, self.basket(store.currency), store.currency)
        order.store = store
        order.loyalty_id = person.loyalty_id if rng.random() < 0.7 else ""
        roll = rng.random()
        if roll < 0.4:
            order.phone = format_phone(rng, person.phone)
        elif roll < 0.5:
            order.phone = pick(rng, JUNK_PHONES)
        return order

    def market_order(self, person: Person, ts: int, platform: str = "") -> Order:
        """A marketplace order; the platform decides what identity data reaches us."""
        rng = self.rng
        if not platform:
            options = MARKETPLACES if person.address.country == "US" else MARKETPLACES[:2]
            platform = weighted(rng, options, (50, 25, 25)[: len(options)])
        currency = self.currency(person)
        return self.new_order(person, platform, ts, self.basket(currency, marketplace=True), currency)

    def settle(self, order: Order) -> None:
        """Status, last update and rare soft delete, consistent with the order's age."""
        rng, ts = self.rng, order.ts_s
        age = WINDOW_END_S - ts
        if order.channel == "pos":
            status = "returned" if rng.random() < 0.05 else "delivered"
            delay = between(rng, DAY_S, 20 * DAY_S) if status == "returned" else between(rng, 0, 120)
        elif age < DAY_S or (age < 4 * DAY_S and rng.random() < 0.4):
            status, delay = (
                ("placed", between(rng, 0, 600)) if age < DAY_S else ("shipped", between(rng, HOUR_S, DAY_S))
            )
        else:
            status = weighted(rng, ("delivered", "returned", "cancelled"), (86, 7, 7))
            low, high = {"delivered": (3, 7), "returned": (10, 30), "cancelled": (0, 1)}[status]
            delay = between(rng, low * DAY_S + 600, high * DAY_S + 600)
        order.status = status
        order.updated_s = min(WINDOW_END_S, ts + delay)
        if order.channel in ("web", "pos") and rng.random() < ORDER_DELETE_RATE:
            order.deleted_s = between(rng, order.updated_s, WINDOW_END_S)
