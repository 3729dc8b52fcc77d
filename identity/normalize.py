"""Normalisation of identifiers and person attributes for identity resolution.

Pure functions, no I/O. The resolution job applies them to ingested records and the API applies
them to looked-up values, so both sides compare the same canonical strings. Every `normalize_*`
function returns None for a value that carries no identity (empty, unparsable), never raises on
text, and is idempotent: normalising a normalised value returns it unchanged.
"""

from __future__ import annotations

import functools
import math
import numbers
import re
import unicodedata
from collections.abc import Callable, Mapping, Set
from typing import Final, Literal, ParamSpec, TypeVar, cast, get_args

import phonenumbers

from identity.nicknames import NICKNAMES

IdentifierKind = Literal["email", "phone", "loyalty_id", "user_id", "device_id", "marketplace_buyer_id"]
IDENTIFIER_KINDS: Final[tuple[str, ...]] = get_args(IdentifierKind)

GMAIL: Final = "gmail.com"
DOMAIN_ALIASES: Final[Mapping[str, str]] = {"googlemail.com": GMAIL}
# Providers that ignore dots in the local part; elsewhere "j.doe" and "jdoe" are different mailboxes.
DOTLESS_DOMAINS: Final[frozenset[str]] = frozenset({GMAIL})
# Marketplaces hand sellers a per-order relay address instead of the buyer's own e-mail.
RELAY_DOMAINS: Final[tuple[str, ...]] = ("marketplace.amazon.com", "relay.walmart.com", "members.ebay.com")

JUNK_VALUES: dict[str, frozenset[str]] = {
    # "local@*" matches any domain and "*@domain" any local part; everything else is exact.
    "email": frozenset(
        {
            "none@none.com",
            "test@test.com",
            "a@a.com",
            "na@na.com",
            "email@email.com",
            "noemail@*",
            "no-email@*",
            "nomail@*",
            "no-reply@*",
            "noreply@*",
            "donotreply@*",
            "do-not-reply@*",
            "unknown@*",
            "customer@*",
        }
    ),
    # The junk numbers clerks type that phonenumbers accepts as valid (most others normalise to None);
    # repeated digits and digit runs are also caught by rule in `_is_junk_phone`.
    "phone": frozenset({"+18888888888", "+12345678901", "+441234567890", "+447777777777"}),
    "loyalty_id": frozenset(),  # zeros-only ids are caught by rule in `_is_junk_loyalty_id`
    "user_id": frozenset({"0", "-1"}),
    # The all-zero advertising id that iOS/Android report when the user limits tracking.
    "device_id": frozenset({"00000000-0000-0000-0000-000000000000"}),
    "marketplace_buyer_id": frozenset(),
}
"""Built-in junk values per identifier kind, in normalised form. Extend by assigning a new set."""

_APOSTROPHES: Final = "'\u2019\u2018\u02bc\u00b4`"
_HYPHENS: Final = "-\u2010\u2011"
_INNER_JOINERS: Final = frozenset(_APOSTROPHES + _HYPHENS)
_MISSING_TEXT: Final = frozenset({"", "nan", "none", "null", "<na>"})
_INTEGRAL_TEXT: Final = re.compile(r"[+-]?\d+(?:\.0*)?")
_US_ZIP: Final = re.compile(r"(\d{3,5})(?:[\s-]*\d{4})?")
_GB_POSTCODE: Final = re.compile(r"[A-Z]{1,2}\d[A-Z\d]?\d[A-Z]{2}")
_COUNTRY_ALIASES: Final[Mapping[str, str]] = {"USA": "US", "UK": "GB"}
_MIN_RUN: Final = 7
_SEPARATORS: Final = re.compile(r"[\s\-.()]")
_DIGITS: Final = re.compile(r"\+?\d+")
_NANP: Final = re.compile(r"(?:\+?1)?([2-9]\d{9})")
_SPACE: Final = re.compile(r"\s")  # what str.isspace() calls space
_NANP_KEY: Final = re.compile(r"\+1([2-9]\d{9})")
_NANP_REGIONS: Final = frozenset({"US", "CA"})
_DOMAIN: Final = re.compile(r"(?:[^\W_]|-)+(?:\.(?:[^\W_]|-)+)+")  # [^\W_] is exactly str.isalnum
_RELAY_SUFFIXES: Final = tuple(f".{relay}" for relay in RELAY_DOMAINS)
P = ParamSpec("P")
R = TypeVar("R")
_CACHES: list[functools._lru_cache_wrapper[object]] = []


def _text(value: str | None) -> str | None:
    """NFKC and strip; None for missing or blank, so callers need one check."""
    if value is None:
        return None
    text = unicodedata.normalize("NFKC", value).strip()
    return text or None


def memoised(function: Callable[P, R]) -> Callable[P, R]:
    """`function` with a cache that `clear_caches` empties: resolution meets each value many times.

    Identifiers, the matcher and survivorship each normalise the same columns; with this, only the
    first pass pays for parsing.
    """
    cached = functools.lru_cache(maxsize=1 << 18)(function)
    _CACHES.append(cached)
    return cast(Callable[P, R], cached)


@memoised
def normalize_email(value: str | None) -> str | None:
    """Canonical mailbox address, so every spelling of one inbox compares equal.

    Args:
        value: An e-mail address as typed (case, whitespace, ``+tags`` and gmail dots vary).

    Returns:
        ``local@domain`` lowercased, with googlemail.com folded into gmail.com, the ``+tag`` removed
        and, for gmail only, the dots of the local part removed; None when the value is missing or not
        a plausible address (not exactly one ``@``, empty local part, dotless domain, inner spaces).
    """
    text = _text(value)
    return None if text is None else _canonical_email(text)


def _canonical_email(text: str) -> str | None:
    """`normalize_email` of a stripped value."""
    text = unicodedata.normalize("NFKC", text.lower())
    if text.count("@") != 1 or not text.isprintable() or _SPACE.search(text):
        return None
    local, domain = text.split("@")
    if not _is_domain(domain):
        return None
    domain = DOMAIN_ALIASES.get(domain, domain)
    local = local.split("+", 1)[0]
    if domain in DOTLESS_DOMAINS:
        local = local.replace(".", "")
    return f"{local}@{domain}" if local else None


def _is_domain(domain: str) -> bool:
    """At least two non-empty labels of letters, digits and hyphens."""
    return _DOMAIN.fullmatch(domain) is not None


def is_relay_email(email: str) -> bool:
    """Whether the address is a marketplace relay, which identifies an order rather than a person."""
    domain = email.strip().lower().rpartition("@")[2]
    return f".{domain}".endswith(_RELAY_SUFFIXES)


@memoised
def normalize_phone(value: str | None, default_region: str = "US") -> str | None:
    """E.164 form of a phone number, so national and international spellings compare equal.

    Args:
        value: A phone number as typed, e.g. ``"(415) 555-0134"`` or ``"+44 7400 123456"``.
        default_region: ISO 3166 region assumed when the number has no ``+country`` prefix.

    Returns:
        The number as ``+<country><national>`` when phonenumbers finds it possible and valid
        (extensions dropped); None otherwise.
    """
    text = _text(value)
    if text is None:
        return None
    region = default_region.strip().upper()
    return _e164(_layout_free(text, region), region)


def phone_region(country: str | None, default_region: str) -> str:
    """The region a record's phone is read in: its own country when that is one phonenumbers knows.

    A British till's "07400 123456" is a mobile number in GB and no number at all in the US.
    """
    code = (country or "").strip().upper()
    return code if code in phonenumbers.SUPPORTED_REGIONS else default_region.strip().upper()


def _layout_free(text: str, region: str) -> str:
    """One spelling per number for the parser's cache: "(415) 555-0134" and "1-415-555-0134" -> "+14155550134".

    Only separators go (spaces, dashes, dots, parentheses), and a bare North American number gets
    its "+1"; anything else (letters, extensions, other prefixes) is parsed as typed.
    """
    compact = _SEPARATORS.sub("", text)
    if not _DIGITS.fullmatch(compact):
        return text
    if region in _NANP_REGIONS and (nanp := _NANP.fullmatch(compact)):
        return "+1" + nanp.group(1)
    return compact


@memoised
def _e164(text: str, region: str) -> str | None:
    """Parsing is the slow part of resolution (~80 us a number): each typed form is parsed once."""
    if nanp := _NANP_KEY.fullmatch(text):
        # What parse gives for the "+1" and ten digits `_layout_free` writes, at a fraction of its cost.
        number = phonenumbers.PhoneNumber(country_code=1, national_number=int(nanp.group(1)))
    else:
        try:
            number = phonenumbers.parse(text, region)
        except phonenumbers.NumberParseException:
            return None
    if not (phonenumbers.is_possible_number(number) and _is_valid(number)):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _is_valid(number: phonenumbers.PhoneNumber) -> bool:
    """`phonenumbers.is_valid_number`, asking the country code's main region first.

    That function first looks for the number's region among all that share its code (25 for +1,
    half its time) and then validates it there. The main region is the first looked at and, when
    it has no leading-digit rule, is chosen exactly when the number is valid there: so a number
    valid in it is valid, and only the others need the full search.
    """
    main = phonenumbers.region_code_for_country_code(number.country_code or 0)
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(main, None)
    if metadata is not None and metadata.leading_digits is None:
        if phonenumbers.is_valid_number_for_region(number, main):
            return True
    return phonenumbers.is_valid_number(number)


def normalize_loyalty_id(value: str | None) -> str | None:
    """Uppercase with one hyphen between alphanumeric groups: " loy_004711 " -> "LOY-004711".

    A bare prefix glued to its digits ("LOY004711") gets the hyphen too, since tills and the web
    form disagree about typing it.
    """
    text = _text(value)
    if text is None:
        return None
    groups = re.findall(r"[^\W_]+", text.upper())
    if len(groups) == 1 and (glued := re.fullmatch(r"([A-Z]+)(\d+)", groups[0])):
        groups = list(glued.groups())
    return "-".join(groups) or None


def normalize_user_id(value: object) -> str | None:
    """Account id as text; 42, 42.0, "42", " 042 " all give "42" because exports disagree on types."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        number = float(value)
        return str(int(number)) if math.isfinite(number) and number.is_integer() else None
    text = _text(value if isinstance(value, str) else str(value))
    if text is None or text.lower() in _MISSING_TEXT:
        return None
    if _INTEGRAL_TEXT.fullmatch(text):
        return str(int(text.split(".")[0]))
    return text


def normalize_device_id(value: str | None) -> str | None:
    """Lowercase, because SDKs print the same advertising id in either case."""
    text = _text(value)
    return text.lower() if text else None


def normalize_marketplace_buyer_id(platform: str | None, value: str | None) -> str | None:
    """``platform:handle`` lowercased; handles are only unique within one marketplace."""
    name = _text(platform)
    handle = _text(value)
    if name is None or handle is None:
        return None
    name = "_".join(name.lower().split())
    handle = handle.lower()
    handle = handle.removeprefix(f"{name}:")
    return f"{name}:{handle}" if handle else None


def normalize_identifier(kind: IdentifierKind, value: object, *, default_region: str = "US") -> str | None:
    """Normalise any identifier by kind; the single entry point for the job and the lookup API.

    Args:
        kind: Which identifier ``value`` is.
        value: The raw value. Non-text values (an int phone, a float user id) are accepted; missing
            values (None, NaN) give None. A marketplace buyer id is ``"platform:handle"`` or a
            ``(platform, handle)`` pair.
        default_region: Region for phone numbers without a country prefix.

    Returns:
        The normalised identifier, or None when the value carries no identity.

    Raises:
        ValueError: If ``kind`` is not an ``IdentifierKind``.
    """
    if kind not in IDENTIFIER_KINDS:
        raise ValueError(f"unknown identifier kind {kind!r}; expected one of {IDENTIFIER_KINDS}")
    if kind == "user_id":
        return normalize_user_id(value)
    if kind == "marketplace_buyer_id":
        return _marketplace_from_object(value)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = value if isinstance(value, str) else str(value)
    if kind == "email":
        return normalize_email(text)
    if kind == "phone":
        return normalize_phone(text, default_region)
    if kind == "loyalty_id":
        return normalize_loyalty_id(text)
    return normalize_device_id(text)


def _marketplace_from_object(value: object) -> str | None:
    """Accept "platform:handle" or a (platform, handle) pair."""
    if isinstance(value, tuple | list) and len(value) == 2:
        platform, handle = value
        return normalize_marketplace_buyer_id(_str_or_none(platform), _str_or_none(handle))
    if not isinstance(value, str) or ":" not in value:
        return None
    platform, handle = value.split(":", 1)
    return normalize_marketplace_buyer_id(platform, handle)


def _str_or_none(value: object) -> str | None:
    return None if value is None else str(value)


@memoised
def normalize_name(value: str | None) -> str | None:
    """Name folded for comparison: "José O'Brien-Núñez" -> "jose obriennunez".

    Accents go (keyboards lose them), case goes, apostrophes and hyphens inside a word are removed
    (O'Brien, OBrien and O Brien are typed for one person), other punctuation becomes a space.
    """
    if value is None:
        return None
    # 1. Decompose and casefold until stable: each step can undo the other's work (ℌ -> H, İ -> i̇).
    text = _fold(value)
    # 2. Drop combining marks, so only base letters remain.
    text = "".join(ch for ch in text if not unicodedata.category(ch).startswith("M"))
    # 3. Keep letters and digits, join words across inner apostrophes/hyphens, split on the rest.
    chars: list[str] = []
    for i, ch in enumerate(text):
        if ch.isalnum():
            chars.append(ch)
        elif not (ch in _INNER_JOINERS and _between_letters(text, i)):
            chars.append(" ")
    return " ".join("".join(chars).split()) or None


def _fold(text: str) -> str:
    for _ in range(3):
        folded = unicodedata.normalize("NFKD", text).casefold()
        if folded == text:
            break
        text = folded
    return text


def _between_letters(text: str, i: int) -> bool:
    return 0 < i < len(text) - 1 and text[i - 1].isalnum() and text[i + 1].isalnum()


@memoised
def canonical_first_name(value: str | None) -> str | None:
    """Normalised first name with nicknames mapped to one form (Bill, Billy, Will -> william).

    Each word is mapped on its own, so "Bob Lee" gives "robert lee".
    """
    name = normalize_name(value)
    if name is None:
        return None
    return " ".join(NICKNAMES.get(word, word) for word in name.split())


@memoised
def normalize_postcode(value: str | None, country: str | None = None) -> str | None:
    """Postcode in the form the postal service prints, so typed variants compare equal.

    Args:
        value: The postcode as typed.
        country: ISO 3166 alpha-2 code ("US", "GB"; "USA" and "UK" accepted); None if unknown.

    Returns:
        US: the 5-digit ZIP (ZIP+4 dropped, leading zeros restored: "2134" -> "02134").
        GB: uppercase with one space before the inward code ("sw1a1aa" -> "SW1A 1AA").
        Other countries, or a value that does not fit the country's shape: uppercase with inner
        whitespace collapsed. None when empty.
    """
    text = _text(value)
    if text is None:
        return None
    text = " ".join(unicodedata.normalize("NFKC", text.upper()).split())
    code = (country or "").strip().upper()
    code = _COUNTRY_ALIASES.get(code, code)
    if code == "US" and (zip_match := _US_ZIP.fullmatch(text)):
        return zip_match.group(1).zfill(5)
    compact = text.replace(" ", "")
    if code == "GB" and _GB_POSTCODE.fullmatch(compact):
        return f"{compact[:-3]} {compact[-3:]}"
    return text


JUNK_LOYALTY_ID: Final = re.compile(r"^(?:[A-Z]+-?)?0[0-]*$")
"""A loyalty id of nothing but zeros after its letter prefix (LOY-000000); ASCII, so polars reads it alike."""


def is_junk(
    kind: IdentifierKind,
    normalized: str,
    *,
    junk_values: Mapping[str, Set[str]] | None = None,
) -> bool:
    """Whether a normalised identifier is a placeholder typed at a till or form, not a person's.

    Junk values must not link records: thousands of customers share "none@none.com".

    Args:
        kind: Which identifier ``normalized`` is.
        normalized: The output of the matching ``normalize_*`` function.
        junk_values: Junk lists to use instead of ``JUNK_VALUES`` (e.g. the built-in one extended).

    Returns:
        True when the value is in the junk list for its kind or matches a built-in junk rule.
    """
    listed = (JUNK_VALUES if junk_values is None else junk_values).get(kind, frozenset())
    if not normalized or normalized in listed:
        return True
    if kind == "email":
        local, _, domain = normalized.rpartition("@")
        return f"{local}@*" in listed or f"*@{domain}" in listed
    if kind == "phone":
        return _is_junk_phone(normalized)
    if kind == "loyalty_id":
        return _is_junk_loyalty_id(normalized)
    return False


@memoised
def _is_junk_phone(e164: str) -> bool:
    """One repeated digit (8888888888) or a digit run (1234567890, 9876543210, +1 2345678901)."""
    digits = e164.lstrip("+")
    national = _national_number(digits)
    return len(set(national)) == 1 or _is_digit_run(national) or _is_digit_run(digits)


def _national_number(digits: str) -> str:
    """The digits after the country code (codes are 1-3 digits and prefix-free); all digits if unknown."""
    for size in (1, 2, 3):
        if int(digits[:size] or 0) in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            return digits[size:]
    return digits


def _is_digit_run(digits: str) -> bool:
    """Consecutive digits up or down the keypad, wrapping 9 -> 0 as "1234567890" does."""
    if len(digits) < _MIN_RUN or not digits.isdigit() or (int(digits[1]) - int(digits[0])) % 10 not in (1, 9):
        return False
    steps = {(int(b) - int(a)) % 10 for a, b in zip(digits, digits[1:], strict=False)}
    return steps in ({1}, {9})


def _is_junk_loyalty_id(loyalty_id: str) -> bool:
    """Nothing but zeros after the letter prefix: LOY-000000."""
    return JUNK_LOYALTY_ID.fullmatch(loyalty_id) is not None


def clear_caches() -> None:
    """Forget every value normalised so far (a benchmark times cold runs; a long-lived process may trim memory)."""
    for cached in _CACHES:
        cached.cache_clear()
