"""Name-and-address keys: the deterministic link between records that share no identifier.

A marketplace order behind a relay e-mail still carries the buyer's name and shipping address;
when those equal an account's (after normalisation: nicknames, accents, street abbreviations),
the two are one person. A household shares the address but not the first name, so it never
matches on this key.
"""

from __future__ import annotations

import re
import unicodedata

from identity.normalize import canonical_first_name, normalize_name, normalize_postcode

_ABBREVIATIONS = {
    "street": "st", "str": "st", "avenue": "ave", "av": "ave", "road": "rd", "boulevard": "blvd", "drive": "dr",
    "lane": "ln", "court": "ct", "place": "pl", "terrace": "ter", "parkway": "pkwy", "highway": "hwy",
    "square": "sq", "circle": "cir", "north": "n", "south": "s", "east": "e", "west": "w", "apartment": "apt",
    "suite": "ste",
}  # fmt: skip
_NON_WORD = re.compile(r"[^0-9a-z]+")


def normalize_street(value: str | None) -> str | None:
    """'7431 Spring Street, Apt. 2' -> '7431 spring st apt 2'; None when empty."""
    if not value:
        return None
    folded = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode().casefold()
    words = [_ABBREVIATIONS.get(word, word) for word in _NON_WORD.sub(" ", folded).split()]
    return " ".join(words) or None


def name_address_key(
    first_name: str | None, last_name: str | None, street: str | None, postcode: str | None, country: str | None
) -> str | None:
    """'first|last|street|postcode', each part normalised; None unless every part is present."""
    parts = (
        canonical_first_name(first_name),
        normalize_name(last_name),
        normalize_street(street),
        normalize_postcode(postcode, country),
    )
    return "|".join(parts) if all(parts) else None  # type: ignore[arg-type]
