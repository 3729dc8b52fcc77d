"""Street addresses folded for comparison: the street half of the name-and-address key.

A marketplace order behind a relay e-mail still carries the buyer's name and shipping address;
when those equal an account's (after normalisation: nicknames, accents, street abbreviations),
the two are one person (`identity.records` builds the key, `identity.match` compares streets).
"""

from __future__ import annotations

import re
import unicodedata

from identity.normalize import memoised

_ABBREVIATIONS = {
    "street": "st", "str": "st", "avenue": "ave", "av": "ave", "road": "rd", "boulevard": "blvd", "drive": "dr",
    "lane": "ln", "court": "ct", "place": "pl", "terrace": "ter", "parkway": "pkwy", "highway": "hwy",
    "square": "sq", "circle": "cir", "north": "n", "south": "s", "east": "e", "west": "w", "apartment": "apt",
    "suite": "ste",
}  # fmt: skip
_NON_WORD = re.compile(r"[^0-9a-z]+")


@memoised
def normalize_street(value: str | None) -> str | None:
    """'7431 Spring Street, Apt. 2' -> '7431 spring st apt 2'; None when empty."""
    if not value:
        return None
    folded = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode().casefold()
    words = [_ABBREVIATIONS.get(word, word) for word in _NON_WORD.sub(" ", folded).split()]
    return " ".join(words) or None
