"""Addresses and phone numbers that look and validate like real US and GB ones."""

from __future__ import annotations

import random
from dataclasses import dataclass

from sample_data.formats import UniqueIds, between, digits, pick
from sample_data.vocab import (
    GB_CITIES,
    GB_MOBILE_PREFIXES,
    GB_POSTCODE_LETTERS,
    GB_SUFFIXES,
    STREET_NAMES,
    US_CITIES,
    US_SUFFIXES,
)

GB_SHARE = 0.12


@dataclass(frozen=True, slots=True)
class Address:
    """A postal address; short_street is the same street with an abbreviated suffix."""

    street: str
    short_street: str
    city: str
    postcode: str
    country: str
    area_codes: tuple[str, ...]


def pick_country(rng: random.Random) -> str:
    """Mostly US, some GB."""
    return "GB" if rng.random() < GB_SHARE else "US"


def make_address(rng: random.Random, country: str, city: str | None = None) -> Address:
    """A street address in a known city of the country (a random one unless city is given)."""
    name = pick(rng, STREET_NAMES)
    if country == "US":
        entry = next((c for c in US_CITIES if c[0] == city), None) or pick(rng, US_CITIES)
        long_sfx, short_sfx = pick(rng, US_SUFFIXES)
        number = between(rng, 1, 9899)
        postcode = entry[2] + digits(rng, 2)
        area_codes = entry[3]
    else:
        gb = next((c for c in GB_CITIES if c[0] == city), None) or pick(rng, GB_CITIES)
        entry = (gb[0], "", "", ())
        long_sfx, short_sfx = pick(rng, GB_SUFFIXES)
        number = between(rng, 1, 240)
        letters = "".join(pick(rng, GB_POSTCODE_LETTERS) for _ in range(2))
        postcode = f"{pick(rng, gb[1])}{between(rng, 1, 20)} {between(rng, 1, 9)}{letters}"
        area_codes = ()
    return Address(
        street=f"{number} {name} {long_sfx}",
        short_street=f"{number} {name} {short_sfx}",
        city=entry[0],
        postcode=postcode,
        country=country,
        area_codes=area_codes,
    )


def make_phone(rng: random.Random, address: Address, ids: UniqueIds) -> str:
    """A unique E.164 number valid per libphonenumber (555 exchange in the US, real UK mobile ranges)."""
    if address.country == "US":
        return ids.draw(lambda: f"+1{pick(rng, address.area_codes)}555{digits(rng, 4)}")
    return ids.draw(lambda: f"+447{pick(rng, GB_MOBILE_PREFIXES)[1]}{digits(rng, 8)}")
