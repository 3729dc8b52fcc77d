"""Junk detection over whole columns agrees with `is_junk` value by value."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from identity.graph import _junk
from identity.normalize import IDENTIFIER_KINDS, JUNK_VALUES, is_junk

_LISTED = sorted(value.replace("*", "x") for values in JUNK_VALUES.values() for value in values)
_VALUES = st.one_of(
    st.sampled_from(_LISTED),
    st.from_regex(r"(noreply|customer|ann)@(test|none|shop)\.com", fullmatch=True),
    st.from_regex(r"(LOY-?)?[0-]{1,6}[0-9A-Z]?", fullmatch=True),
    st.sampled_from(["", "a@b@none.com", "none.com", "noreply@x@shop.com"]),
    st.text(max_size=10),
)


_PHONES = st.one_of(
    st.from_regex(r"\+(1|44)[0-9]{9,10}", fullmatch=True), st.sampled_from(["+18888888888", "+11234567890"])
)
"""Phones reach the check in E.164, as `normalize_phone` writes them."""
_PAIRS = st.one_of(
    st.tuples(st.sampled_from([kind for kind in IDENTIFIER_KINDS if kind != "phone"]), _VALUES),
    st.tuples(st.just("phone"), _PHONES),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_PAIRS, max_size=25, unique=True))
def test_junk_rows_are_those_is_junk_flags(pairs: list[tuple[str, str]]) -> None:
    values = pl.DataFrame(pairs, schema={"kind": pl.String, "value": pl.String}, orient="row")
    found = set(_junk(values).iter_rows())
    assert found == {(kind, value) for kind, value in pairs if is_junk(kind, value)}  # type: ignore[arg-type]
