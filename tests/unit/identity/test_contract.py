"""The identity input contract: what a file must hold, and what the engine makes of it."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from core.errors import InvalidInputError
from identity.contract import read_input


def test_unknown_columns_are_ignored_and_missing_ones_are_null(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("record_id,email,favourite_colour,loyalty_id\n1, A@X.com ,blue,007\n2,,red,\n")
    records = read_input(path)
    assert "favourite_colour" not in records.columns
    assert records.select("record_id", "email", "loyalty_id", "phone").rows() == [
        ("1", "A@X.com", "007", None),
        ("2", None, None, None),
    ], "text kept as typed (leading zeros too); blanks are missing"


def test_parquet_inputs_are_read(tmp_path: Path) -> None:
    path = tmp_path / "in.parquet"
    pl.DataFrame({"record_id": [1, 2], "first_name": ["Ann", "Bob"]}).write_parquet(path)
    assert read_input(path)["record_id"].to_list() == ["1", "2"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("email\na@x.com\n", "no record_id column"),
        ("record_id,email\n1,a@x.com\n,b@x.com\n", "record_id is empty"),
        ("record_id,email\n1,a@x.com\n1,b@x.com\n", "record_id values repeat"),
    ],
)
def test_a_bad_record_id_is_a_clear_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "in.csv"
    path.write_text(text)
    with pytest.raises(InvalidInputError, match=message):
        read_input(path)


def test_a_missing_file_or_an_unknown_format_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="does not exist"):
        read_input(tmp_path / "nope.csv")
    (tmp_path / "in.json").write_text("{}")
    with pytest.raises(InvalidInputError, match="must end in .csv or .parquet"):
        read_input(tmp_path / "in.json")
