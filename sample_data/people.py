"""The real humans (ground truth) and the user accounts they open, duplicates and households included.

Identity noise injected here:

* duplicate sign-ups: ~10% of account holders open 2-3 accounts, with an e-mail variant
  (case, whitespace, +tag, gmail dots, googlemail.com) or a different e-mail but the same phone;
* names on accounts carry nicknames, typos, dropped accents and odd case;
* households: 2-3 people with one last name and address share one e-mail (and often one phone),
  each with their own first name and loyalty id;
* in-store sign-ups typed by a clerk carry junk e-mails and phones shared by unrelated people.
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass, field

from sample_data.catalog import Store
from sample_data.formats import DAY_S, WINDOW_END_S, WINDOW_START_S, UniqueIds, between, iso_date, iso_s, pick, weighted
from sample_data.noise import email_variant, format_phone, messy_first, messy_last, strip_accents
from sample_data.places import Address, make_address, make_phone, pick_country
from sample_data.vocab import (
    FIRST_NAMES,
    GB_EMAIL_DOMAINS,
    JUNK_EMAILS,
    JUNK_PHONES,
    LAST_NAMES,
    US_EMAIL_DOMAINS,
    USER_AGENTS,
)

DOB_FROM_S = -20 * 365 * DAY_S  # 1950
DOB_TO_S = 37 * 365 * DAY_S  # 2006
HOUSEHOLD_RATE = 0.04


@dataclass(slots=True, eq=False)
class Device:
    """A browser or app install; owner None marks a shared kiosk."""

    device_id: str
    user_agent: str
    owner: Person | None


@dataclass(slots=True, eq=False)
class Account:
    """One users.csv row; owner is the human behind it (ground truth)."""

    owner: Person
    seq: int
    email: str
    phone: str
    first_name: str
    last_name: str
    dob: str
    street: str
    city: str
    postcode: str
    country: str
    loyalty_id: str
    opt_in: bool
    created_s: int
    updated_s: int = 0
    deleted_s: int | None = None
    user_id: int = 0


@dataclass(slots=True, eq=False)
class Person:
    """A real human: canonical identity plus how they shop."""

    index: int
    person_id: str
    first_name: str
    last_name: str
    email: str
    phone: str
    dob: str
    address: Address
    household_id: str
    loyalty_id: str
    active_from_s: int
    has_account: bool = False
    shops_web: bool = False
    shops_store: bool = False
    shops_market: bool = False
    uses_kiosk: bool = False
    home_store: Store | None = None
    accounts: list[Account] = field(default_factory=list)
    devices: list[Device] = field(default_factory=list)
    fraud: str = ""
    fraud_device: Device | None = None
    victims: list[Account] = field(default_factory=list)
    extra_accounts: list[Account] = field(default_factory=list)  # fraud sign-ups, kept out of shopping
    amazon_relay: str = ""
    walmart_relay: str = ""
    ebay_username: str = ""


@dataclass(slots=True)
class Registry:
    """Id pools shared across the run so phones, e-mails, loyalty and device ids never collide."""

    phones: UniqueIds = field(default_factory=UniqueIds)
    emails: UniqueIds = field(default_factory=UniqueIds)
    loyalty: UniqueIds = field(default_factory=UniqueIds)
    devices: UniqueIds = field(default_factory=UniqueIds)
    account_seq: int = 0

    def next_account_seq(self) -> int:
        """Creation order of accounts, the tie-breaker when user ids are assigned."""
        self.account_seq += 1
        return self.account_seq


@functools.lru_cache(maxsize=4096)
def ascii_slug(text: str) -> str:
    """Lower-case ASCII letters and digits only, for e-mail local parts."""
    return "".join(ch for ch in strip_accents(text).lower() if ch.isalnum())


def new_email(rng: random.Random, first: str, last: str, country: str, reg: Registry) -> str:
    """A personal e-mail address built the way people pick them, unique across the run."""
    domains = US_EMAIL_DOMAINS if country == "US" else GB_EMAIL_DOMAINS
    f, last_slug = ascii_slug(first), ascii_slug(last)
    shape = between(rng, 0, 6)
    if shape < 4:
        pattern = (f"{f}.{last_slug}", f"{f}{last_slug}", f"{f[0]}{last_slug}", f"{f}_{last_slug}")[shape]
    elif shape == 4:
        pattern = f"{f}.{last_slug}{between(rng, 1, 99)}"
    else:
        pattern = f"{f}{between(rng, 60, 99)}" if shape == 5 else f"{last_slug}.{f}"
    domain = weighted(rng, *domains)
    if reg.emails.claim(f"{pattern}@{domain}"):
        return f"{pattern}@{domain}"
    return reg.emails.draw(lambda: f"{pattern}{between(rng, 1, 999)}@{domain}")  # taken: add digits, as people do


def new_device(rng: random.Random, owner: Person, reg: Registry) -> Device:
    """A device id as the web tracker would mint it."""
    device_id = reg.devices.draw(lambda: f"dev-{rng.getrandbits(48):012x}")
    return Device(device_id=device_id, user_agent=pick(rng, USER_AGENTS), owner=owner)


def new_loyalty_id(rng: random.Random, reg: Registry) -> str:
    """A loyalty card number like LOY-004711."""
    return reg.loyalty.draw(lambda: f"LOY-{between(rng, 1, 999_999):06d}")


def _person(
    rng: random.Random,
    index: int,
    reg: Registry,
    *,
    household_id: str = "",
    last_name: str = "",
    address: Address | None = None,
    email: str = "",
    phone: str = "",
) -> Person:
    """One person; household members pass in the last name, address, e-mail or phone they share."""
    address = address or make_address(rng, pick_country(rng))
    first = pick(rng, FIRST_NAMES)
    last = last_name or pick(rng, LAST_NAMES)
    span = WINDOW_END_S - 12 * DAY_S - WINDOW_START_S
    person = Person(
        index=index,
        person_id=f"PER-{index + 1:06d}",
        first_name=first,
        last_name=last,
        email=email or new_email(rng, first, last, address.country, reg),
        phone=phone or make_phone(rng, address, reg.phones),
        dob=iso_date(between(rng, DOB_FROM_S, DOB_TO_S)),
        address=address,
        household_id=household_id,
        loyalty_id=new_loyalty_id(rng, reg) if household_id or rng.random() < 0.6 else "",
        active_from_s=WINDOW_START_S + 2 * DAY_S + int(span * rng.random() ** 1.4),
    )
    _choose_channels(rng, person)
    return person


def _choose_channels(rng: random.Random, person: Person) -> None:
    """How this person shops: web account, guest web, stores, marketplaces (at least one)."""
    person.has_account = rng.random() < 0.72
    person.shops_web = person.has_account or rng.random() < 0.3
    person.shops_store = rng.random() < 0.5
    person.shops_market = rng.random() < 0.35
    if not (person.shops_web or person.shops_store or person.shops_market):
        person.shops_store = True


def _household(rng: random.Random, start: int, size: int, reg: Registry) -> list[Person]:
    """2-3 people sharing last name, address and one e-mail (and often one phone)."""
    first = _person(rng, start, reg, household_id=f"HH-{start + 1:06d}")
    local = pick(rng, (f"the{ascii_slug(first.last_name)}s", f"{ascii_slug(first.last_name)}family",
                        f"{ascii_slug(first.last_name)}.home"))  # fmt: skip
    shared_email = reg.emails.draw(lambda: f"{local}{between(rng, 1, 99)}@gmail.com")
    first.email = shared_email
    phone = first.phone if rng.random() < 0.6 else ""
    members = [first]
    while len(members) < size:
        member = _person(
            rng,
            start + len(members),
            reg,
            household_id=first.household_id,
            last_name=first.last_name,
            address=first.address,
            email=shared_email,
            phone=phone,
        )
        if all(member.first_name != m.first_name for m in members):
            members.append(member)
    return members


def build_people(rng: random.Random, count: int, stores: list[Store], reg: Registry) -> list[Person]:
    """All persons, households included, with home stores and devices."""
    people: list[Person] = []
    while len(people) < count:
        left = count - len(people)
        if left >= 3 and rng.random() < HOUSEHOLD_RATE:
            people.extend(_household(rng, len(people), pick(rng, (2, 2, 3)), reg))
        else:
            people.append(_person(rng, len(people), reg))
    by_country = {c: [s for s in stores if s.country == c] or stores for c in ("US", "GB")}
    for person in people:
        local = by_country[person.address.country]
        person.home_store = pick(rng, local) if person.shops_store else None
        person.uses_kiosk = person.shops_store and rng.random() < 0.3
        if person.shops_web or rng.random() < 0.5:
            person.devices = [new_device(rng, person, reg) for _ in range(pick(rng, (1, 1, 2, 2, 3)))]
    return people


def add_account(
    rng: random.Random, person: Person, reg: Registry, *, created_s: int, primary: bool, throwaway: bool = False
) -> Account:
    """Open one account for person, with the form-filling noise a real sign-up has.

    Throwaway (fraud) accounts go to extra_accounts so ordinary shopping never uses them.
    """
    name_rate, last_rate = (0.08, 0.05) if primary else (0.35, 0.15)
    street = person.address.street if rng.random() < 0.7 else person.address.short_street
    exact = rng.random() < 0.85 or (primary and person.household_id)  # a household signs up with its shared e-mail
    account = Account(
        owner=person,
        seq=reg.next_account_seq(),
        email=person.email if exact else email_variant(rng, person.email),
        phone=format_phone(rng, person.phone) if rng.random() < 0.85 else "",
        first_name=messy_first(rng, person.first_name, name_rate),
        last_name=messy_last(rng, person.last_name, last_rate),
        dob=person.dob if rng.random() < 0.65 else "",
        street=street,
        city=person.address.city,
        postcode=person.address.postcode,
        country=person.address.country,
        loyalty_id=person.loyalty_id if rng.random() < (0.75 if primary else 0.1) else "",
        opt_in=rng.random() < 0.45,
        created_s=created_s,
    )
    (person.extra_accounts if throwaway else person.accounts).append(account)
    return account


def _duplicate(rng: random.Random, person: Person, reg: Registry, created_s: int) -> None:
    """A second sign-up: an e-mail variant, or a new e-mail with the same phone."""
    account = add_account(rng, person, reg, created_s=created_s, primary=False)
    if rng.random() < 0.6:
        account.email = email_variant(rng, person.email)
    else:
        account.email = new_email(rng, person.first_name, person.last_name, person.address.country, reg)
        account.phone = format_phone(rng, person.phone)
    if rng.random() < 0.2:
        account.street = account.city = account.postcode = ""


def _till_signup(rng: random.Random, account: Account) -> None:
    """A clerk created the account at the till and typed placeholder contact details."""
    account.email = pick(rng, JUNK_EMAILS) if rng.random() < 0.7 else ""
    if rng.random() < 0.5:
        account.phone = pick(rng, JUNK_PHONES)


def build_accounts(rng: random.Random, people: list[Person], reg: Registry) -> None:
    """Open the accounts of every account holder, duplicates and till sign-ups included."""
    for person in people:
        if not person.has_account:
            continue
        created = max(WINDOW_START_S, person.active_from_s - between(rng, 300, 3 * DAY_S))
        primary = add_account(rng, person, reg, created_s=created, primary=True)
        if person.shops_store and rng.random() < 0.08:
            _till_signup(rng, primary)
        latest = WINDOW_END_S - 2 * DAY_S
        if rng.random() < 0.1 and created + DAY_S < latest:
            for _ in range(pick(rng, (1, 1, 1, 2))):
                _duplicate(rng, person, reg, between(rng, created + DAY_S, latest))


def finish_accounts(rng: random.Random, people: list[Person]) -> list[Account]:
    """Set updated/deleted times and number every account by creation time; return them in id order."""
    accounts = [a for p in people for a in (*p.accounts, *p.extra_accounts)]
    for account in accounts:
        span = WINDOW_END_S - account.created_s
        account.updated_s = account.created_s + int(span * rng.random() ** 2)
        is_dup = not account.owner.accounts or account is not account.owner.accounts[0]
        if rng.random() < (0.2 if is_dup else 0.01) and account.owner.fraud == "":
            account.deleted_s = account.updated_s = account.created_s + int(span * (0.3 + 0.6 * rng.random()))
    accounts.sort(key=lambda a: (a.created_s, a.seq))
    for user_id, account in enumerate(accounts, start=1):
        account.user_id = user_id
    return accounts


def live_accounts(person: Person, ts: int) -> list[Account]:
    """Accounts of person that exist and are not deleted at ts."""
    return [a for a in person.accounts if a.created_s < ts and (a.deleted_s is None or a.deleted_s > ts)]


def user_row(a: Account) -> list[str]:
    """users.csv columns for one account."""
    return [str(a.user_id), a.email, a.phone, a.first_name, a.last_name, a.dob, a.street, a.city, a.postcode,
            a.country, a.loyalty_id, "true" if a.opt_in else "false", iso_s(a.created_s), iso_s(a.updated_s),
            iso_s(a.deleted_s) if a.deleted_s is not None else ""]  # fmt: skip
