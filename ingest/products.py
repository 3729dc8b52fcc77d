"""Matching marketplace product titles to the ShopSphere catalogue.

Marketplaces send a title, not our product id. A title matches when, after normalisation, it is
the catalogue name, or the name followed by a variant suffix (" - Size 10", ", Blue", " (2 pack)"),
or within a small edit distance of it (typos); anything else stays unmatched and flagged.
"""

from __future__ import annotations

import re
import unicodedata

from rapidfuzz import fuzz, process

_SUFFIX = re.compile(r"\s*(?:[-–,(/|]).*$")
_NON_WORD = re.compile(r"[^0-9a-z]+")
MIN_SIMILARITY = 92.0


def _normalise(title: str) -> str:
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    return _NON_WORD.sub(" ", ascii_title.casefold()).strip()


class ProductMatcher:
    """Looks up product ids by title; built once per batch from the catalogue."""

    def __init__(self, catalogue: dict[str, str]):
        """`catalogue` maps product_id to product name."""
        self._by_name: dict[str, str] = {}
        for product_id, name in sorted(catalogue.items()):
            self._by_name.setdefault(_normalise(name), product_id)
        self._names = list(self._by_name)

    def match(self, title: str | None) -> str | None:
        """The product id for a marketplace title, or None."""
        if not title:
            return None
        for candidate in (_normalise(title), _normalise(_SUFFIX.sub("", title))):
            if candidate in self._by_name:
                return self._by_name[candidate]
        if not self._names:
            return None
        best = process.extractOne(_normalise(title), self._names, scorer=fuzz.ratio, score_cutoff=MIN_SIMILARITY)
        return self._by_name[best[0]] if best else None
