"""The ways real people and clerks mistype identities, applied to clean values.

Each function takes a canonical value and returns one plausible messy form, so identity
resolution has something realistic to undo:

* phones: "(415) 555-0134", "+1 415 555 0134", "415.555.0134", "4155550134", "1-415-555-0134";
  GB "+44 7700 900123", "07700 900123";
* e-mails: case, surrounding whitespace, +tags, dots in gmail local parts, googlemail.com;
* names: a swapped or dropped letter, nicknames (William/Bill), accents dropped (José/Jose), case.
"""

from __future__ import annotations

import functools
import random
import unicodedata

from sample_data.formats import pick
from sample_data.vocab import NICKNAMES, PLUS_TAGS

GMAIL_DOMAINS = ("gmail.com", "googlemail.com")


def format_phone(rng: random.Random, e164: str) -> str:
    """One of the layouts a person or a clerk would type for this number."""
    if e164.startswith("+1"):
        d = e164[2:]
        a, b, c = d[:3], d[3:6], d[6:]
        forms: tuple[str, ...] = (
            f"({a}) {b}-{c}",
            f"+1 {a} {b} {c}",
            f"{a}.{b}.{c}",
            d,
            f"1-{a}-{b}-{c}",
            f"{a}-{b}-{c}",
        )
    else:
        n = e164[3:]
        forms = (f"+44 {n[:4]} {n[4:]}", f"0{n[:4]} {n[4:]}", f"0{n}", f"+44{n}", f"+44 (0){n[:4]} {n[4:]}")
    return pick(rng, forms)


def email_variant(rng: random.Random, email: str) -> str:
    """A differently written form of the same mailbox (never identical to the input)."""
    local, domain = email.split("@", 1)
    kinds = ["upper", "title", "spaces", "plus"]
    if domain in GMAIL_DOMAINS:
        kinds += ["dots", "dots", "googlemail"]
    kind = pick(rng, kinds)
    if kind == "upper":
        return email.upper()
    if kind == "title":
        return f"{local[:1].upper()}{local[1:]}@{domain.capitalize()}"
    if kind == "spaces":
        return pick(rng, (" ", "  ", "")) + email + pick(rng, (" ", "  "))
    if kind == "plus":
        return f"{local}+{pick(rng, PLUS_TAGS)}@{domain}"
    if kind == "googlemail":
        other = "googlemail.com" if domain == "gmail.com" else "gmail.com"
        return f"{local}@{other}"
    return f"{gmail_dots(rng, local)}@{domain}"


def gmail_dots(rng: random.Random, local: str) -> str:
    """Move the dots of a gmail local part; gmail delivers all forms to one inbox."""
    plain = local.replace(".", "")
    if len(plain) < 3:
        return local.upper()
    while True:
        cut = rng.randrange(1, len(plain))
        candidate = f"{plain[:cut]}.{plain[cut:]}" if rng.random() < 0.8 else plain
        if candidate != local:
            return candidate


def typo(rng: random.Random, name: str) -> str:
    """Swap two neighbouring letters or drop one, as a hurried typist does."""
    if len(name) < 4:
        return name + name[-1]
    i = rng.randrange(1, len(name) - 1)
    if rng.random() < 0.5 and name[i] != name[i + 1]:
        return name[:i] + name[i + 1] + name[i] + name[i + 2 :]
    return name[:i] + name[i + 1 :]


@functools.lru_cache(maxsize=4096)
def strip_accents(name: str) -> str:
    """José -> Jose: keyboards and legacy systems often lose diacritics."""
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def nickname(rng: random.Random, first: str) -> str:
    """A common short form when one exists, else the name unchanged."""
    options = NICKNAMES.get(first)
    return pick(rng, options) if options else first


def messy_first(rng: random.Random, first: str, rate: float) -> str:
    """A first name as entered on some form: usually clean; else a nickname, lost accents, a typo or odd case."""
    if rng.random() >= rate:
        return first
    kinds = ["typo", "case"]
    if first in NICKNAMES:
        kinds += ["nickname"] * 6
    if strip_accents(first) != first:
        kinds += ["accents"] * 6
    return _vary(rng, first, pick(rng, kinds))


def messy_last(rng: random.Random, last: str, rate: float) -> str:
    """A last name as entered on some form: lost accents, a typo or odd case."""
    if rng.random() >= rate:
        return last
    kinds = ["typo", "case"] + (["accents"] * 4 if strip_accents(last) != last else [])
    return _vary(rng, last, pick(rng, kinds))


def _vary(rng: random.Random, name: str, kind: str) -> str:
    if kind == "nickname":
        return nickname(rng, name)
    if kind == "accents":
        return strip_accents(name)
    if kind == "typo":
        return typo(rng, name)
    return name.upper() if rng.random() < 0.6 else name.lower()
