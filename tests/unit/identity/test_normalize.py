"""Behaviour of identity/normalize.py on the messy values sources and clerks actually produce."""

from __future__ import annotations

import math
import string
from collections.abc import Callable
from decimal import Decimal

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from identity.nicknames import NICKNAMES
from identity.normalize import (
    _SPACE,
    IDENTIFIER_KINDS,
    JUNK_VALUES,
    canonical_first_name,
    is_junk,
    is_relay_email,
    normalize_device_id,
    normalize_email,
    normalize_identifier,
    normalize_loyalty_id,
    normalize_marketplace_buyer_id,
    normalize_name,
    normalize_phone,
    normalize_postcode,
    normalize_user_id,
)
from sample_data.vocab import NICKNAMES as GENERATOR_NICKNAMES

# No example database on disk, no deadline (the first phonenumbers call loads metadata).
PROPERTY = settings(database=None, deadline=None, max_examples=150)


# --- e-mail ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Ana.Lopez@Example.com", "ana.lopez@example.com"),
        ("  ana.lopez@example.com \t", "ana.lopez@example.com"),
        ("ana.lopez+shop@example.com", "ana.lopez@example.com"),
        ("ana.lopez+a+b@example.com", "ana.lopez@example.com"),
        ("J.Doe@gmail.com", "jdoe@gmail.com"),
        ("j.d.o.e+promo@GMAIL.COM", "jdoe@gmail.com"),
        ("jdoe@googlemail.com", "jdoe@gmail.com"),
        ("J.Doe+2025@GoogleMail.com", "jdoe@gmail.com"),
        ("j.doe@outlook.com", "j.doe@outlook.com"),  # dots only matter off gmail
        ("ｊｏｅ@ｅｘａｍｐｌｅ.ｃｏｍ", "joe@example.com"),  # full-width, NFKC
        ("\u00a0joe@example.com\u00a0", "joe@example.com"),  # no-break spaces
        ("josé@correo.es", "josé@correo.es"),
        ("x@mail.co.uk", "x@mail.co.uk"),
        ("a-b_c@sub-domain.example.org", "a-b_c@sub-domain.example.org"),
    ],
)
def test_normalize_email_canonical_forms(raw: str, expected: str) -> None:
    assert normalize_email(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        None,
        "",
        "   ",
        "plainaddress",
        "two@@example.com",
        "a@b@example.com",
        "@example.com",
        "+tag@example.com",  # local part empty once the tag is gone
        "...@gmail.com",  # local part empty once gmail dots are gone
        "joe@localhost",
        "joe@example.",
        "joe@.com",
        "joe@exa mple.com",
        "jo e@example.com",
        "joe@example.com, ann@example.com",
        "joe@exa_mple.com",
        "joe\x00@example.com",
    ],
)
def test_normalize_email_rejects_non_addresses(raw: str | None) -> None:
    assert normalize_email(raw) is None


@pytest.mark.parametrize(
    ("email", "relay"),
    [
        ("abc123xyz@marketplace.amazon.com", True),
        ("ABC@Marketplace.Amazon.com ", True),
        ("x@eu.marketplace.amazon.com", True),
        ("x@relay.walmart.com", True),
        ("x@members.ebay.com", True),
        ("x@amazon.com", False),
        ("x@notmarketplace.amazon.com", False),
        ("marketplace.amazon.com@gmail.com", False),
        ("x@walmart.com", False),
    ],
)
def test_is_relay_email(email: str, relay: bool) -> None:
    assert is_relay_email(email) is relay


# --- phone ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("(415) 555-0134", "US", "+14155550134"),
        ("+1 415 555 0134", "US", "+14155550134"),
        ("415.555.0134", "US", "+14155550134"),
        ("4155550134", "US", "+14155550134"),
        ("1-415-555-0134", "US", "+14155550134"),
        ("415-555-0134", "US", "+14155550134"),
        ("  +1 (415) 555-0134 ext. 12 ", "US", "+14155550134"),
        ("+1 415 555 0134", "GB", "+14155550134"),  # explicit country wins over the region
        ("07400 123456", "GB", "+447400123456"),
        ("+44 7400 123456", "US", "+447400123456"),
        ("+44 (0)7512 345678", "GB", "+447512345678"),
        ("07400123456", "gb", "+447400123456"),
        ("020 7946 0958", "GB", "+442079460958"),
    ],
)
def test_normalize_phone_to_e164(raw: str, region: str, expected: str) -> None:
    assert normalize_phone(raw, region) == expected


@pytest.mark.parametrize(
    ("raw", "region"),
    [
        (None, "US"),
        ("", "US"),
        ("n/a", "US"),
        ("12345", "US"),  # too short
        ("0000000000", "US"),
        ("5555555555", "US"),
        ("1234567890", "US"),  # area code 123 does not exist
        ("+1 415 555 01345678", "US"),  # too long
        ("4155550134", "XX"),  # unknown region and no country prefix
        ("4155550134", ""),
        # Ofcom's drama range parses but phonenumbers does not call it valid.
        ("07700 900123", "GB"),
    ],
)
def test_normalize_phone_rejects_invalid(raw: str | None, region: str) -> None:
    assert normalize_phone(raw, region) is None


# --- other identifiers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (" loy-004711 ", "LOY-004711"),
        ("LOY-004711", "LOY-004711"),
        ("loy_004711", "LOY-004711"),
        ("loy 004711", "LOY-004711"),
        ("LOY--004711", "LOY-004711"),
        ("loy004711", "LOY-004711"),
        ("-LOY-004711-", "LOY-004711"),
        ("gold/ab12/9", "GOLD-AB12-9"),
        ("004711", "004711"),
        ("", None),
        ("  ", None),
        ("--", None),
        (None, None),
    ],
)
def test_normalize_loyalty_id(raw: str | None, expected: str | None) -> None:
    assert normalize_loyalty_id(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (42, "42"),
        ("42", "42"),
        (" 42 ", "42"),
        (42.0, "42"),
        ("42.0", "42"),
        ("042", "42"),
        (-1, "-1"),
        (Decimal("42"), "42"),
        ("u_42AbC", "u_42AbC"),  # opaque ids keep their case
        (42.5, None),
        (math.nan, None),
        (math.inf, None),
        ("NaN", None),
        ("null", None),
        ("", None),
        (None, None),
        (True, None),
    ],
)
def test_normalize_user_id(raw: object, expected: str | None) -> None:
    assert normalize_user_id(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (" 6D92078A-8246-4BA4-AE5B-76104861E7DC ", "6d92078a-8246-4ba4-ae5b-76104861e7dc"),
        ("abc", "abc"),
        ("", None),
        (None, None),
    ],
)
def test_normalize_device_id(raw: str | None, expected: str | None) -> None:
    assert normalize_device_id(raw) == expected


@pytest.mark.parametrize(
    ("platform", "handle", "expected"),
    [
        ("Amazon", " AbC123 ", "amazon:abc123"),
        ("amazon", "amazon:ABC123", "amazon:abc123"),
        ("eBay ", "Cool_Buyer", "ebay:cool_buyer"),
        ("Walmart Marketplace", "W1", "walmart_marketplace:w1"),
        (None, "abc", None),
        ("amazon", None, None),
        ("amazon", " ", None),
        (" ", "abc", None),
    ],
)
def test_normalize_marketplace_buyer_id(
    platform: str | None,
    handle: str | None,
    expected: str | None,
) -> None:
    assert normalize_marketplace_buyer_id(platform, handle) == expected


@pytest.mark.parametrize(
    ("kind", "raw", "expected"),
    [
        ("email", " J.Doe+x@GoogleMail.com", "jdoe@gmail.com"),
        ("phone", "(415) 555-0134", "+14155550134"),
        ("phone", 4155550134, "+14155550134"),
        ("loyalty_id", "loy 4711", "LOY-4711"),
        ("user_id", 42.0, "42"),
        ("device_id", "ABC-1", "abc-1"),
        ("marketplace_buyer_id", "Amazon:AbC", "amazon:abc"),
        ("marketplace_buyer_id", ("Amazon", "AbC"), "amazon:abc"),
        ("marketplace_buyer_id", "abc", None),  # no platform
        ("marketplace_buyer_id", 42, None),
        ("email", None, None),
        ("phone", math.nan, None),
        ("loyalty_id", math.nan, None),
    ],
)
def test_normalize_identifier_dispatches_by_kind(kind: str, raw: object, expected: str | None) -> None:
    assert normalize_identifier(kind, raw) == expected  # type: ignore[arg-type]


def test_normalize_identifier_passes_the_region_to_phones() -> None:
    assert normalize_identifier("phone", "07400 123456", default_region="GB") == "+447400123456"
    assert normalize_identifier("phone", "07400 123456") is None


def test_normalize_identifier_rejects_unknown_kind() -> None:
    with pytest.raises(ValueError, match="unknown identifier kind 'ssn'"):
        normalize_identifier("ssn", "123")  # type: ignore[arg-type]


# --- names ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("José", "jose"),
        ("  JOSÉ  ", "jose"),
        ("Zoë", "zoe"),
        ("Søndergaard", "søndergaard"),  # ø is a letter of its own, not o plus a mark
        ("Müller", "muller"),
        ("Straße", "strasse"),
        ("O'Brien", "obrien"),
        ("O’Brien", "obrien"),
        ("Smith-Jones", "smithjones"),
        ("Jean‐Luc", "jeanluc"),  # U+2010 hyphen
        ("Smith, John", "smith john"),
        ("Mary  Ann", "mary ann"),
        ("'Quoted'", "quoted"),
        ("- Ana -", "ana"),
        ("Dr. Ana García-López", "dr ana garcialopez"),
        ("François Noël", "francois noel"),
        ("", None),
        ("  ", None),
        ("!!!", None),
        (None, None),
    ],
)
def test_normalize_name(raw: str | None, expected: str | None) -> None:
    assert normalize_name(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Bill", "william"),
        ("billy", "william"),
        ("Will", "william"),
        ("WILLY", "william"),
        ("William", "william"),
        ("Bob", "robert"),
        ("rob", "robert"),
        ("Bobby", "robert"),
        ("Liz", "elizabeth"),
        ("Beth", "elizabeth"),
        ("Betty", "elizabeth"),
        ("Eliza", "elizabeth"),
        ("Kate", "katherine"),
        ("Katie", "katherine"),
        ("Kathy", "katherine"),
        ("Cathy", "katherine"),
        ("Mike", "michael"),
        ("Jim", "james"),
        ("Jimmy", "james"),
        ("Pepe", "jose"),
        ("Paco", "francisco"),
        ("José", "jose"),
        ("Bob Lee", "robert lee"),
        ("Emma", "emma"),
        ("", None),
        (None, None),
    ],
)
def test_canonical_first_name(raw: str | None, expected: str | None) -> None:
    assert canonical_first_name(raw) == expected


def test_nickname_table_is_normalised_and_flat() -> None:
    assert len(NICKNAMES) >= 70
    for nickname, canonical in NICKNAMES.items():
        assert normalize_name(nickname) == nickname
        assert normalize_name(canonical) == canonical
        assert canonical not in NICKNAMES, f"{nickname} -> {canonical} chains to another name"


def test_every_generator_nickname_maps_back() -> None:
    """The sample-data generator's nicknames are exactly what resolution must undo."""
    for canonical, nicknames in GENERATOR_NICKNAMES.items():
        for nickname in nicknames:
            assert canonical_first_name(nickname) == normalize_name(canonical), nickname


# --- postcodes ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        ("94107", "US", "94107"),
        ("94107-1234", "US", "94107"),
        ("94107 1234", "us", "94107"),
        ("941071234", "US", "94107"),
        ("02134", "US", "02134"),
        ("2134", "US", "02134"),
        ("501", "USA", "00501"),
        (" 94107 ", "US", "94107"),
        ("K1A 0B6", "US", "K1A 0B6"),  # not a ZIP: kept in the generic form
        ("sw1a1aa", "GB", "SW1A 1AA"),
        ("SW1A 1AA", "GB", "SW1A 1AA"),
        (" sw1a  1aa ", "UK", "SW1A 1AA"),
        ("m11ae", "GB", "M1 1AE"),
        ("ec1a1bb", "GB", "EC1A 1BB"),
        ("bfpo 1234", "GB", "BFPO 1234"),
        ("k1a  0b6", "CA", "K1A 0B6"),
        ("75008", None, "75008"),
        ("94107-1234", None, "94107-1234"),
        ("", "US", None),
        ("   ", None, None),
        (None, "GB", None),
    ],
)
def test_normalize_postcode(raw: str | None, country: str | None, expected: str | None) -> None:
    assert normalize_postcode(raw, country) == expected


# --- junk -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "none@none.com",
        "NONE@NONE.COM",
        "noemail@shopsphere.com",
        "NoEmail@gmail.com",
        "no-reply@example.com",
        "no.reply@gmail.com",
        "test@test.com",
        "a@a.com",
        "na@na.com",
        "unknown@anything.org",
        "customer@shop.co.uk",
        "email@email.com",
    ],
)
def test_junk_emails(raw: str) -> None:
    normalized = normalize_email(raw)
    assert normalized is not None
    assert is_junk("email", normalized)


@pytest.mark.parametrize(
    "raw",
    ["ana@gmail.com", "none@gmail.com", "test@example.com", "customer.care@x.com"],
)
def test_real_looking_emails_are_not_junk(raw: str) -> None:
    normalized = normalize_email(raw)
    assert normalized is not None
    assert not is_junk("email", normalized)


@pytest.mark.parametrize(
    ("raw", "region"),
    [
        ("0000000000", "US"),
        ("5555555555", "US"),
        ("9999999999", "US"),
        ("1234567890", "US"),
        ("0123456789", "US"),
        ("9876543210", "US"),
        ("8888888888", "US"),
        ("12345678901", "US"),
        ("2345678901", "US"),
        ("8765432109", "US"),
        ("01234567890", "GB"),
        ("1234567890", "GB"),
        ("07777777777", "GB"),
        ("07777 777777", "GB"),
    ],
)
def test_junk_phones_never_survive(raw: str, region: str) -> None:
    """Each is either rejected by phonenumbers or flagged on its E.164 form."""
    normalized = normalize_phone(raw, region)
    assert normalized is None or is_junk("phone", normalized)


def test_listed_junk_phones_are_what_normalisation_produces() -> None:
    produced = {
        normalize_phone("888-888-8888"),
        normalize_phone("12345678901"),
        normalize_phone("01234 567890", "GB"),
        normalize_phone("07777 777777", "GB"),
    }
    assert produced == JUNK_VALUES["phone"]


@pytest.mark.parametrize(
    "raw",
    ["(415) 555-0100", "(415) 555-0134", "415-555-0199", "(212) 555-0123", "07400 123456", "+1 212 736 5000"],
)
def test_real_and_fictional_test_phones_are_not_junk(raw: str) -> None:
    normalized = normalize_phone(raw, "GB" if raw.startswith("0") else "US")
    assert normalized is not None
    assert not is_junk("phone", normalized)


@pytest.mark.parametrize(
    ("kind", "raw", "junk"),
    [
        ("loyalty_id", "loy-000000", True),
        ("loyalty_id", "LOY000", True),
        ("loyalty_id", "000000", True),
        ("loyalty_id", "LOY-004711", False),
        ("loyalty_id", "LOY-100000", False),
        ("loyalty_id", "LOY", False),
        ("user_id", "0", True),
        ("user_id", "-1", True),
        ("user_id", "42", False),
        ("device_id", "00000000-0000-0000-0000-000000000000", True),
        ("device_id", "6d92078a-8246-4ba4-ae5b-76104861e7dc", False),
        ("marketplace_buyer_id", "amazon:abc", False),
    ],
)
def test_junk_other_identifiers(kind: str, raw: str, junk: bool) -> None:
    normalized = normalize_identifier(kind, raw)  # type: ignore[arg-type]
    assert normalized is not None
    assert is_junk(kind, normalized) is junk  # type: ignore[arg-type]


def test_junk_list_is_complete_and_extensible() -> None:
    assert set(JUNK_VALUES) == set(IDENTIFIER_KINDS)
    assert all(isinstance(values, frozenset) for values in JUNK_VALUES.values())
    extended = {**JUNK_VALUES, "email": JUNK_VALUES["email"] | {"*@mailinator.com", "sales@*"}}
    assert is_junk("email", "x@mailinator.com", junk_values=extended)
    assert is_junk("email", "sales@shop.com", junk_values=extended)
    assert not is_junk("email", "x@mailinator.com")
    assert is_junk("email", "none@none.com", junk_values=extended)


def test_empty_value_is_junk() -> None:
    assert is_junk("device_id", "")


# --- properties -----------------------------------------------------------------------------------

LOCAL_PARTS = st.text(string.ascii_lowercase + string.digits + "._-", min_size=1, max_size=12).filter(
    lambda s: s.strip("._-") == s and ".." not in s
)
DOMAINS = st.sampled_from(["gmail.com", "googlemail.com", "yahoo.com", "outlook.com", "btinternet.com"])
PHONE_TEXT = st.text(string.digits + " +-().", max_size=20)


@PROPERTY
@given(st.text())
def test_email_is_idempotent_and_total(raw: str) -> None:
    normalized = normalize_email(raw)
    assert normalized is None or normalize_email(normalized) == normalized


@PROPERTY
@given(st.text())
def test_name_is_idempotent_and_total(raw: str) -> None:
    normalized = normalize_name(raw)
    assert normalized is None or normalize_name(normalized) == normalized
    canonical = canonical_first_name(raw)
    assert canonical is None or canonical_first_name(canonical) == canonical


@PROPERTY
@given(st.one_of(PHONE_TEXT, st.text()), st.sampled_from(["US", "GB", "DE"]))
def test_phone_is_idempotent_and_total(raw: str, region: str) -> None:
    normalized = normalize_phone(raw, region)
    assert normalized is None or normalize_phone(normalized, region) == normalized
    assert normalized is None or normalize_phone(normalized, "US") == normalized


@PROPERTY
@given(st.sampled_from(IDENTIFIER_KINDS), st.text(), st.sampled_from([None, "US", "GB", "FR"]))
def test_every_normaliser_is_total_and_idempotent(kind: str, raw: str, country: str | None) -> None:
    normalized = normalize_identifier(kind, raw)  # type: ignore[arg-type]
    if normalized is not None:
        assert normalize_identifier(kind, normalized) == normalized  # type: ignore[arg-type]
        assert isinstance(is_junk(kind, normalized), bool)  # type: ignore[arg-type]
    postcode = normalize_postcode(raw, country)
    assert postcode is None or normalize_postcode(postcode, country) == postcode
    is_relay_email(raw)


@PROPERTY
@given(
    LOCAL_PARTS,
    DOMAINS,
    st.sampled_from(["", "+shop", "+2025", "+a+b"]),
    st.sampled_from([str.lower, str.upper, str.title, str.swapcase]),
    st.sampled_from(["", " ", "\t", "  "]),
)
def test_spellings_of_one_mailbox_normalise_equal(
    local: str,
    domain: str,
    tag: str,
    case: Callable[[str], str],
    pad: str,
) -> None:
    base = normalize_email(f"{local}@{domain}")
    variant = normalize_email(f"{pad}{case(local)}{tag}@{case(domain)}{pad}")
    assert base is not None
    assert variant == base


@PROPERTY
@given(st.sampled_from(["+14155550134", "+12125550199", "+447400123456"]), st.data())
def test_layouts_of_one_number_normalise_equal(e164: str, data: st.DataObject) -> None:
    national = e164[2:] if e164.startswith("+1") else e164[3:]
    region = "US" if e164.startswith("+1") else "GB"
    prefix = data.draw(st.sampled_from(["", "+1 ", "1-"] if region == "US" else ["0", "+44 ", "+44 (0)"]))
    separators = data.draw(st.lists(st.sampled_from(["", " ", "-", "."]), min_size=len(national)))
    typed = prefix + "".join(d + s for d, s in zip(national, separators, strict=False))
    assert normalize_phone(typed, region) == e164


def _parsed_as_typed(value: str, region: str) -> str | None:
    """The reference: phonenumbers on the text as typed, no shortcut."""
    try:
        number = phonenumbers.parse(value.strip(), region)
    except phonenumbers.NumberParseException:
        return None
    if not (phonenumbers.is_possible_number(number) and phonenumbers.is_valid_number(number)):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@pytest.mark.parametrize("region", ["US", "CA", "GB"])
@pytest.mark.parametrize(
    "typed",
    ["(415) 555-0134", "+1 415 555 0134", "415.555.0134", "4155550134", "1-415-555-0134", "415-555-0134",
     "+44 7400 123456", "07400 123456", "+44 (0)7400 123456", "+447400123456", "1234567890", "11234567890",
     "+11234567890", "5555555555", "1-800-FLOWERS", "415 555 0134 ext 12", "00 44 7400 123456",
     "011 44 7400 123456", "+33 1 23 45 67 89", "212 555 01", "(020) 7946 0018"],
)  # fmt: skip
def test_the_layout_shortcut_gives_what_parsing_as_typed_gives(typed: str, region: str) -> None:
    assert normalize_phone(typed, region) == _parsed_as_typed(typed, region)


SHARED_CODE_REGIONS = ["US", "CA", "JM", "DO", "PR", "GB", "IM", "JE", "GG", "RU", "KZ", "AU", "CX", "DE", "FR"]


@PROPERTY
@given(
    st.sampled_from(SHARED_CODE_REGIONS),
    st.sampled_from([phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE]),
    st.text(alphabet="0123456789", min_size=1, max_size=5),
    st.sampled_from(["US", "GB"]),
)
def test_the_main_region_shortcut_validates_as_phonenumbers_does(home: str, kind: int, tail: str, region: str) -> None:
    """Numbers of regions sharing a country code (+1, +44, +7, +61), with random last digits."""
    example = phonenumbers.example_number_for_type(home, kind)
    assert example is not None
    national = phonenumbers.national_significant_number(example)
    typed = f"+{example.country_code} {national[: -len(tail)]}{tail}"
    assert normalize_phone(typed, region) == _parsed_as_typed(typed, region)


@PROPERTY
@given(st.text(alphabet="0123456789", min_size=10, max_size=10), st.sampled_from(["US", "CA", "GB"]))
def test_north_american_numbers_built_without_parsing_normalise_as_parsed(national: str, region: str) -> None:
    typed = f"+1{national}"
    assert normalize_phone(typed, region) == _parsed_as_typed(typed, region)


@PROPERTY
@given(st.text(min_size=0, max_size=16))
def test_one_printable_check_rejects_what_the_per_character_check_rejected(text: str) -> None:
    per_character = any(ch.isspace() or not ch.isprintable() for ch in text)
    assert (not text.isprintable() or _SPACE.search(text) is not None) == per_character
