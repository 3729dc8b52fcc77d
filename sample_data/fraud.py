"""Injected fraud patterns, each labelled in truth/fraud.csv so risk rules can be scored.

Patterns (a few percent of people, at least one of each):

* velocity - 5-7 web orders within one hour;
* new_account_high_value - account created and first order within a day, the order worth far more
  than 5x the median order;
* shared_device - one (non-kiosk) device logging into 4-6 different people's accounts;
* bot_speed - add_to_cart to purchase in under 2 seconds;
* failed_logins_then_purchase - 3-5 failed logins, a success, then a purchase;
* cross_channel_duplicate - the same basket and amount on a marketplace and the web within minutes;
* value_spike - an order far above that person's history;
* identifier_burst - 3-5 accounts with different e-mails created within an hour from one device.

Takeover patterns (shared_device, failed_logins_then_purchase) act on other people's accounts:
their records belong to the fraudster in truth/records.csv, because a person is the real human.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from sample_data.events import Session
from sample_data.formats import DAY_S, HOUR_S, WINDOW_END_S, between, pick
from sample_data.orders import Line, Order, OrderPlanner
from sample_data.people import Account, Person, Registry, add_account, new_device, new_email
from sample_data.vocab import FIRST_NAMES, LAST_NAMES

PATTERNS = (
    "velocity",
    "new_account_high_value",
    "shared_device",
    "bot_speed",
    "failed_logins_then_purchase",
    "cross_channel_duplicate",
    "value_spike",
    "identifier_burst",
)
FRAUD_RATE = 0.004  # per pattern: 8 patterns -> ~3% of people
SHOPS_ON_WEB = frozenset({"velocity", "new_account_high_value", "bot_speed", "cross_channel_duplicate",
                          "value_spike"})  # fmt: skip
HIGH_VALUE_CENTS = 300_000
SPIKE_FLOOR_CENTS = 250_000


@dataclass(slots=True)
class Label:
    """One truth/fraud.csv row; key is resolved later for orders (their ids come last)."""

    pattern: str
    person: Person
    source: str
    key: str | Order


def assign_roles(rng: random.Random, people: list[Person], reg: Registry) -> None:
    """Pick fraudsters among single-person households and give them what their pattern needs."""
    eligible = [p for p in people if not p.household_id]
    per_pattern = max(1, round(len(people) * FRAUD_RATE))
    chosen = rng.sample(eligible, min(len(eligible), per_pattern * len(PATTERNS)))
    for i, person in enumerate(chosen):
        person.fraud = PATTERNS[i % len(PATTERNS)]
        if person.fraud in SHOPS_ON_WEB:
            person.has_account = person.shops_web = True
            if not person.devices:
                person.devices = [new_device(rng, person, reg)]
        else:
            person.fraud_device = new_device(rng, person, reg)


def prepare_accounts(rng: random.Random, people: list[Person], reg: Registry) -> None:
    """Shape fraudsters' own accounts: one brand-new account, or a burst of throwaway sign-ups."""
    for person in people:
        if person.fraud == "new_account_high_value":
            person.accounts = person.accounts[:1]
            person.accounts[0].created_s = person.active_from_s - between(rng, 600, 3 * HOUR_S)
        elif person.fraud == "identifier_burst":
            start = between(rng, person.active_from_s, WINDOW_END_S - 2 * DAY_S)
            for n in range(between(rng, 3, 5)):
                created = start + n * between(rng, 240, 700)
                account = add_account(rng, person, reg, created_s=created, primary=False, throwaway=True)
                first, last = pick(rng, FIRST_NAMES), pick(rng, LAST_NAMES)
                account.first_name, account.last_name = first, last
                account.email = new_email(rng, first, last, person.address.country, reg)
                account.phone = account.street = account.city = account.postcode = account.dob = ""
                account.loyalty_id = ""


def user_labels(people: list[Person]) -> list[Label]:
    """Label the users rows of fraud patterns once user ids exist."""
    labels = []
    for person in people:
        accounts = person.accounts[:1] if person.fraud == "new_account_high_value" else person.extra_accounts
        labels += [Label(person.fraud, person, "users", str(a.user_id)) for a in accounts]
    return labels


def pick_victims(rng: random.Random, people: list[Person]) -> None:
    """Choose whose accounts the takeover fraudsters break into: one live account each of honest people."""
    pool = [p.accounts[0] for p in people if not p.fraud and p.accounts and p.accounts[0].deleted_s is None]
    for person in people:
        if person.fraud == "shared_device" and pool:
            person.victims = rng.sample(pool, min(len(pool), between(rng, 4, 6)))
        elif person.fraud == "failed_logins_then_purchase" and pool:
            person.victims = [pick(rng, pool)]


class FraudActivity:
    """Adds each fraudster's pattern to their ordinary orders and sessions."""

    def __init__(self, rng: random.Random, planner: OrderPlanner) -> None:
        self.rng = rng
        self.planner = planner

    def apply(self, person: Person, orders: list[Order]) -> tuple[list[Order], list[Session], list[Label]]:
        """Return the person's orders and fraud sessions plus the labels for truth/fraud.csv."""
        handler = {
            "velocity": self._velocity,
            "new_account_high_value": self._new_account,
            "shared_device": self._shared_device,
            "bot_speed": self._bot,
            "failed_logins_then_purchase": self._failed_logins,
            "cross_channel_duplicate": self._cross_channel,
            "value_spike": self._value_spike,
            "identifier_burst": self._burst,
        }.get(person.fraud)
        if handler is None:
            return orders, [], []
        return handler(person, orders)

    def _when(self, person: Person, after_s: int = 0) -> int:
        low = max(person.active_from_s + DAY_S, after_s)
        return between(self.rng, min(low, WINDOW_END_S - 3 * HOUR_S), WINDOW_END_S - 2 * HOUR_S)

    def _web(self, person: Person, ts: int, account: Account | None = None) -> Order:
        order = self.planner.web_order(person, ts, account or person.accounts[0])
        order.fraud = person.fraud
        order.device = order.device or person.devices[0]
        return order

    def _labels(self, person: Person, orders: list[Order]) -> list[Label]:
        return [Label(person.fraud, person, "orders", o) for o in orders]

    def _velocity(self, person: Person, orders: list[Order]) -> tuple[list[Order], list[Session], list[Label]]:
        ts, burst = self._when(person), []
        for _ in range(between(self.rng, 5, 7)):
            burst.append(self._web(person, ts))
            ts += between(self.rng, 240, 540)
        return orders + burst, [], self._labels(person, burst)

    def _new_account(self, person: Person, orders: list[Order]) -> tuple[list[Order], list[Session], list[Label]]:
        account = person.accounts[0]
        order = self._web(person, account.created_s + between(self.rng, HOUR_S, 20 * HOUR_S), account)
        order.lines = self.planner.big_basket(order.currency, HIGH_VALUE_CENTS)
        kept = [o for o in orders if o.channel != "web" or o.ts_s > order.ts_s]
        return [*kept, order], [], self._labels(person, [order])

    def _bot(self, person: Person, orders: list[Order]) -> tuple[list[Order], list[Session], list[Label]]:
        order = self._web(person, self._when(person))
        order.lines = order.lines[:2]
        order.bot = True
        return [*orders, order], [], self._labels(person, [order])

    def _cross_channel(self, person: Person, orders: list[Order]) -> tuple[list[Order], list[Session], list[Label]]:
        web = self._web(person, self._when(person))
        platform = "amazon" if self.rng.random() < 0.5 else "ebay"
        market = self.planner.market_order(person, web.ts_s + between(self.rng, 120, 900), platform)
        market.lines = [Line(line.product, line.quantity, line.unit_cents) for line in web.lines]
        market.fraud = person.fraud
        pair = [web, market]
        labels = [Label(person.fraud, person, "orders", web), Label(person.fraud, person, "marketplace_orders", market)]
        return [*orders, *pair], [], labels

    def _value_spike(self, person: Person, orders: list[Order]) -> tuple[list[Order], list[Session], list[Label]]:
        history = [o for o in orders if o.channel in ("web", "pos")]
        while len(history) < 3:
            history.append(self.planner.web_order(person, self._when(person), person.accounts[0]))
        last = max(o.ts_s for o in history)
        spike = self._web(person, self._when(person, after_s=last + HOUR_S))
        totals = [o.total_cents for o in history]
        target = max(10 * sum(totals) // len(totals), 3 * max(totals), SPIKE_FLOOR_CENTS)
        spike.lines = self.planner.big_basket(spike.currency, target)
        extra = [o for o in history if o not in orders]
        return [*orders, *extra, spike], [], self._labels(person, [spike])

    def _shared_device(self, person: Person, orders: list[Order]) -> tuple[list[Order], list[Session], list[Label]]:
        assert person.fraud_device is not None
        sessions, ts = [], 0
        for victim in person.victims:
            ts = self._when(person, after_s=max(ts, victim.created_s) + HOUR_S)
            failures = 1 if self.rng.random() < 0.3 else 0
            sessions.append(Session(ts * 1000, person.fraud_device, "takeover", person, account=victim,
                                    failures=failures, label=person.fraud))  # fmt: skip
        return orders, sessions, []

    def _failed_logins(self, person: Person, orders: list[Order]) -> tuple[list[Order], list[Session], list[Label]]:
        assert person.fraud_device is not None
        if not person.victims:
            return orders, [], []
        victim = person.victims[0]
        order = self.planner.web_order(person, self._when(person, after_s=victim.created_s + HOUR_S), victim)
        order.email, order.device, order.fraud = victim.email, person.fraud_device, person.fraud
        session = Session(0, person.fraud_device, "takeover", person, order=order, account=victim,
                          failures=between(self.rng, 3, 5), label=person.fraud)  # fmt: skip
        return [*orders, order], [session], self._labels(person, [order])

    def _burst(self, person: Person, orders: list[Order]) -> tuple[list[Order], list[Session], list[Label]]:
        assert person.fraud_device is not None
        sessions = [Session((a.created_s + between(self.rng, 20, 200)) * 1000, person.fraud_device, "burst", person,
                            account=a, label=person.fraud) for a in person.extra_accounts]  # fmt: skip
        return orders, sessions, []
