"""Behavioural events (the Kafka topic) as browsing, purchase, kiosk and fraud sessions per person.

Why sessions: the identity signals live in their order. A device browses anonymously
(user_id null) until a login, after which that device carries the user_id; the shared store
kiosk is logged into by many people and forgets them after each session; a guest checkout
stays anonymous. Purchase events reference their web order through a placeholder that the
writer swaps for the final order_id. A scheduled few events are broken on purpose.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from json.encoder import encode_basestring
from typing import Any
from urllib.parse import quote_plus

from sample_data.catalog import Product
from sample_data.formats import HOUR_S, WINDOW_END_S, between, iso_ms, money, pick, uuid_like
from sample_data.noise import typo
from sample_data.orders import Order
from sample_data.people import Account, Device, Person, live_accounts
from sample_data.vocab import REFERRERS, SITE

EVENT_TYPES = ("view", "click", "add_to_cart", "remove_from_cart", "search", "login", "checkout", "purchase")
BAD_KINDS = ("missing_event_type", "unknown_event_type", "event_ts_not_timestamp")


def order_token(order: Order) -> str:
    """Stand-in for an order_id that is only known once all orders are sorted."""
    return f"@@ORDER{order.seq}@@"


@dataclass(slots=True)
class Session:
    """One visit on one device; account/failures/label describe logins and fraud scripts."""

    start_ms: int
    device: Device
    kind: str  # browse | purchase | kiosk | takeover | burst
    person: Person
    order: Order | None = None
    account: Account | None = None
    failures: int = 0
    label: str = ""


@dataclass(slots=True)
class Step:
    """One event to render; extra is its type-specific metadata as a ready JSON fragment.

    Login steps name the account tried; a successful one signs the device in from that event on.
    """

    event_type: str
    gap_ms: int
    product: Product | None
    url: str  # URL-safe by construction, so it needs no JSON escaping
    extra: str = ""
    label: str = ""
    login: Account | None = None
    success: bool = True
    order: Order | None = None


@dataclass(slots=True)
class Event:
    """A rendered event (one JSON line) with its true timestamp and fraud label."""

    ts_ms: int
    event_id: str
    line: str
    label: str


class EventBuilder:
    """Scripts and renders every session of a person."""

    def __init__(self, rng: random.Random, products: list[Product]) -> None:
        self.rng = rng
        self.products = products

    def person_events(self, person: Person, orders: list[Order], extra: list[Session]) -> list[Event]:
        """All events of person, in session order, with the device login state carried across sessions."""
        sessions = self._sessions(person, orders, extra)
        signed_in: dict[str, Account | None] = {}
        events: list[Event] = []
        for session in sessions:
            events.extend(self._render(session, signed_in))
        return events

    def _sessions(self, person: Person, orders: list[Order], extra: list[Session]) -> list[Session]:
        rng = self.rng
        scripted = {s.order.seq for s in extra if s.order is not None}
        sessions = list(extra)
        for order in orders:
            if order.channel == "web" and order.device is not None and order.seq not in scripted:
                sessions.append(Session(order.ts_s * 1000 - 600_000, order.device, "purchase", person, order=order))
        if person.devices:
            for _ in range(pick(rng, (0, 1, 1, 2, 2, 3, 3, 4, 5))):
                start = between(rng, person.active_from_s, WINDOW_END_S - HOUR_S) * 1000
                sessions.append(Session(start, pick(rng, person.devices), "browse", person))
        return sorted(sessions, key=lambda s: s.start_ms)

    def kiosk_sessions(self, person: Person, kiosk: Device, visits: list[int]) -> list[Session]:
        """Sessions on the store kiosk shortly before some of the person's till visits."""
        rng = self.rng
        chosen = visits[: pick(rng, (1, 1, 2))] if visits else []
        return [Session((ts - between(rng, 300, 1800)) * 1000, kiosk, "kiosk", person) for ts in chosen]

    def _render(self, session: Session, signed_in: dict[str, Account | None]) -> list[Event]:
        """Turn a session into events; update which account the device remembers."""
        shared = session.device.owner is None
        user = None if shared else signed_in.get(session.device.device_id)
        order = session.order
        if user is not None and user.deleted_s is not None and user.deleted_s * 1000 <= session.start_ms:
            user = None  # the remembered account was closed since
        if session.kind == "purchase" and order is not None and order.account is None:
            user = None  # a guest checkout happens signed out
        steps = self._script(session, user)
        start = session.start_ms
        if order is not None:  # the purchase event lands on the order's timestamp
            start = order.ts_s * 1000 + between(self.rng, 0, 999) - sum(step.gap_ms for step in steps)
        events, user = self._emit(session, steps, start, user)
        if not shared:
            signed_in[session.device.device_id] = user
        return events

    def _emit(self, session: Session, steps: list[Step], start: int, user: Account | None
              ) -> tuple[list[Event], Account | None]:  # fmt: skip
        """Render steps straight to JSON lines: building dicts and calling json.dumps per event is the hot spot."""
        rng, device = self.rng, session.device
        session_id = f"sess-{rng.getrandbits(64):016x}"
        head = f'"device_id": "{device.device_id}"'
        ts, events = start, []
        for i, step in enumerate(steps):
            ts += step.gap_ms
            if step.login is not None and step.success:
                user = step.login
            acting = step.login if step.login is not None else user
            meta = f'"page_url": "{step.url}"{step.extra}'
            if i == 0:
                meta += f', "referrer": {encode_basestring("" if device.owner is None else pick(rng, REFERRERS))}'
            if i == 0 or step.event_type == "login":
                meta += f', "user_agent": {encode_basestring(device.user_agent)}'
            event_id = uuid_like(rng)
            user_id = "null" if acting is None else acting.user_id
            product = "null" if step.product is None else f'"{step.product.product_id}"'
            order = "null" if step.order is None else f'"{order_token(step.order)}"'
            line = (f'{{"event_id": "{event_id}", "event_type": "{step.event_type}", "event_ts": "{iso_ms(ts)}", '
                    f'{head}, "user_id": {user_id}, "session_id": "{session_id}", "product_id": {product}, '
                    f'"order_id": {order}, "metadata": {{{meta}}}}}')  # fmt: skip
            events.append(Event(ts, event_id, line, step.label))
        return events, user

    def _script(self, session: Session, user: Account | None) -> list[Step]:
        if session.kind == "purchase":
            return self._purchase_script(session, user)
        if session.kind == "browse":
            return self._browse_script(session, user)
        if session.kind == "kiosk":
            return self._kiosk_script(session)
        if session.kind == "burst":
            assert session.account is not None
            return [self._login(session.account, True, 1_000, session.label), *self._views(2)]
        return self._takeover_script(session)

    def _views(self, count: int) -> list[Step]:
        """Browsing a listing and opening product pages."""
        rng, steps = self.rng, []
        for product in rng.sample(self.products, min(count, len(self.products))):
            if rng.random() < 0.4:
                slug = product.category.lower().replace(" & ", "-").replace(" ", "-")
                steps.append(Step("click", between(rng, 3_000, 40_000), product, f"{SITE}/c/{slug}"))
            steps.append(Step("view", between(rng, 3_000, 60_000), product, f"{SITE}/p/{product.product_id}"))
        return steps

    def _search(self) -> list[Step]:
        """A search typed from words of a product name, sometimes with a typo, then its page."""
        rng = self.rng
        product = pick(rng, self.products)
        words = product.name.lower().split()
        query = " ".join(words[-between(rng, 1, min(3, len(words))) :])
        query = typo(rng, query) if rng.random() < 0.1 else query
        url = f"{SITE}/search?q={quote_plus(query)}"
        view = Step("view", between(rng, 4_000, 30_000), product, f"{SITE}/p/{product.product_id}")
        search = Step("search", between(rng, 2_000, 20_000), None, url, f', "query": {encode_basestring(query)}')
        return [search, view]

    def _login(self, account: Account, success: bool, gap_ms: int, label: str = "") -> Step:
        extra = ', "success": true' if success else ', "success": false'
        return Step("login", gap_ms, None, f"{SITE}/account/login", extra, label, account, success)

    def _cart(self, event_type: str, product: Product, quantity: int, unit_cents: int, gap_ms: int,
              label: str = "") -> Step:  # fmt: skip
        page = f"{SITE}/cart" if event_type == "remove_from_cart" else f"{SITE}/p/{product.product_id}"
        return Step(
            event_type, gap_ms, product, page, f', "quantity": {quantity}, "price": "{money(unit_cents)}"', label
        )

    def _honest_login(self, account: Account) -> list[Step]:
        """A person signing in, now and then after mistyping the password once or twice."""
        rng = self.rng
        failures = pick(rng, (1, 2)) if rng.random() < 0.06 else 0
        steps = [self._login(account, False, between(rng, 4_000, 20_000)) for _ in range(failures)]
        return [*steps, self._login(account, True, between(rng, 4_000, 20_000))]

    def _browse_script(self, session: Session, user: Account | None) -> list[Step]:
        rng = self.rng
        steps = self._search() if rng.random() < 0.4 else []
        steps += self._views(between(rng, 1, 3))
        if rng.random() < 0.25:
            product = pick(rng, self.products)
            steps.append(self._cart("add_to_cart", product, 1, product.price_cents, between(rng, 5_000, 40_000)))
            if rng.random() < 0.3:
                steps.append(
                    self._cart("remove_from_cart", product, 1, product.price_cents, between(rng, 5_000, 90_000))
                )
        live = live_accounts(session.person, session.start_ms // 1000)
        if user is None and live and rng.random() < 0.35:
            at = between(rng, 1, len(steps))
            steps[at:at] = self._honest_login(live[0])
        return steps

    def _checkout(self, order: Order, add_gap: tuple[int, int], label: str = "") -> list[Step]:
        """Cart adds for every line, checkout and the purchase pointing at the order."""
        rng = self.rng
        steps = [self._cart("add_to_cart", line.product, line.quantity, line.unit_cents, between(rng, *add_gap), label)
                 for line in order.lines]  # fmt: skip
        extra = f', "value": "{money(order.total_cents)}", "currency": "{order.currency}"'
        return [*steps, Step("checkout", between(rng, *add_gap), None, f"{SITE}/checkout", "", label),
                Step("purchase", between(rng, *add_gap), None, f"{SITE}/checkout/confirmation", extra, label,
                     order=order)]  # fmt: skip

    def _purchase_script(self, session: Session, user: Account | None) -> list[Step]:
        rng, order = self.rng, session.order
        assert order is not None
        steps = self._search() if rng.random() < 0.3 else []
        for line in order.lines:
            if line.product.in_catalog:
                url = f"{SITE}/p/{line.product.product_id}"
                steps.append(Step("view", between(rng, 3_000, 60_000), line.product, url))
        if order.account is not None and user is not order.account:
            steps += self._honest_login(order.account)
        if order.bot:
            return [*steps, *self._checkout(order, (150, 400), "bot_speed")]
        return [*steps, *self._checkout(order, (3_000, 45_000))]

    def _kiosk_script(self, session: Session) -> list[Step]:
        """Anonymous browsing at the kiosk, half the time followed by a login and more browsing."""
        rng = self.rng
        steps = self._views(between(rng, 1, 3))
        live = live_accounts(session.person, session.start_ms // 1000)
        if live and rng.random() < 0.5:
            steps.append(self._login(live[0], True, between(rng, 5_000, 30_000)))
            steps += self._views(between(rng, 1, 2))
        return steps

    def _takeover_script(self, session: Session) -> list[Step]:
        """Someone else's account: failed attempts, a successful login, browsing, maybe a purchase."""
        rng, account, label = self.rng, session.account, session.label
        assert account is not None
        steps = [self._login(account, False, between(rng, 1_500, 8_000), label) for _ in range(session.failures)]
        steps += [self._login(account, True, between(rng, 1_500, 8_000), label), *self._views(between(rng, 1, 3))]
        if session.order is not None:
            steps += self._checkout(session.order, (2_500, 20_000), label)
        return steps


def corrupt_event(rng: random.Random, doc: dict[str, Any], kind: str) -> None:
    """Break an event the way a faulty producer does."""
    if kind == "missing_event_type":
        del doc["event_type"]
    elif kind == "unknown_event_type":
        doc["event_type"] = pick(rng, ("hover", "page_ping", "VIEW_ITEM"))
    else:
        doc["event_ts"] = pick(rng, ("not-a-timestamp", "31/02/2026 25:61", "yesterday"))
