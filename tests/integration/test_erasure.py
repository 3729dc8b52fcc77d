"""Erasure in the lakehouse, on a lakehouse of the sample's first lines: the subject's rows leave every
table, old snapshots and their files go, and a search of every file on disk, made here with pyarrow,
DuckDB's Avro reader and plain text (not with the code under test), finds none of their values."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest

from core.config import Settings
from core.errors import NotFoundError
from identity.normalize import normalize_identifier
from lakehouse import write
from lakehouse.lake import Lake
from lakehouse.query import read_polars
from lakehouse.scan import scan_table
from privacy.erase import erase_from_lake
from privacy.subject import Subject, find_subject
from schema import lake as tables
from tests.support import duckdb_with_iceberg


@pytest.fixture(scope="module")
def lake(small: Settings) -> Iterator[Lake]:
    with Lake.open(small.catalog) as opened:
        yield opened


def busiest_account(lake: Lake) -> str:
    """The customer of the account with the most events and orders: a subject with rows in many tables."""
    links = read_polars(lake.table(tables.IDENTITY_LINKS))
    records = links.filter(pl.col("link_type") == "record").group_by("customer_id").len()
    accounts = links.filter(pl.col("kind") == "users").select("customer_id")
    return str(records.join(accounts, on="customer_id").sort("len", "customer_id", descending=True)["customer_id"][0])


def files_holding(warehouse: Path, needles: list[str]) -> dict[str, list[str]]:
    """Every file under the warehouse that holds a needle, read by format with pyarrow and DuckDB."""
    con = duckdb_with_iceberg()
    found: dict[str, list[str]] = {}
    for path in warehouse.rglob("*"):
        if not path.is_file():
            continue
        if path.suffix == ".parquet":
            text = json.dumps(pq.read_table(path).to_pylist(), default=str) + path.read_bytes().decode("latin-1")
        elif path.suffix == ".avro":
            rows = con.execute(f"SELECT * FROM read_avro('{path}')").fetchall()
            text = repr(rows) + path.read_bytes().decode("latin-1")
        else:
            text = path.read_bytes().decode("latin-1")
        if hits := [n for n in needles if n in text]:
            found[str(path)] = hits
    return found


def test_an_erased_customer_is_in_no_file_of_any_table_and_everyone_else_is_kept(lake: Lake, small: Settings) -> None:
    customer = busiest_account(lake)
    subject = find_subject(lake, [customer])
    needles = subject.needles()
    warehouse = Path(lake.table(tables.USERS).location().removeprefix("file://")).parents[1]
    assert subject.user_ids and subject.order_ids and subject.event_ids and needles
    assert files_holding(warehouse, needles), "the subject's values were never in the files: the test proves nothing"
    before = {t.full_name: lake.table(t).scan().count() for t in tables.ALL_TABLES}

    report = erase_from_lake(lake, subject, request_id="r-1", min_age_seconds=0)

    assert report.verified, [(t.table, t.clean) for t in report.tables if not t.clean]
    assert files_holding(warehouse, needles) == {}
    receipts = {t.table: t for t in report.tables}
    for definition in (tables.RAW_PG_USERS, tables.USERS, tables.ORDERS, tables.EVENTS, tables.CUSTOMERS):
        receipt = receipts[definition.full_name]
        assert receipt.rows_deleted > 0 and receipt.files_rewritten > 0 and receipt.files_removed > 0, receipt
    for definition in tables.ALL_TABLES:
        assert (
            lake.table(definition).scan().count()
            == before[definition.full_name] - receipts[definition.full_name].rows_deleted
        )
    con = duckdb_with_iceberg()
    users = lake.table(tables.USERS)
    read_back = con.execute(f"SELECT user_id FROM iceberg_scan('{users.metadata_location}')").pl()
    assert len(read_back) == before[tables.USERS.full_name] - receipts[tables.USERS.full_name].rows_deleted
    assert not set(read_back["user_id"]) & set(subject.user_ids), "other engines still read the subject's accounts"
    with pytest.raises(NotFoundError, match="no such customer"):
        find_subject(lake, [customer])


def test_a_subject_survives_a_round_trip_through_json() -> None:
    subject = Subject(
        customer_ids=["C-1"], user_ids=[7], event_positions=[("events", 0, 12)], identifiers=[("email", "a@x.com")],
        shared=[("phone", "+14155550100")], spellings=["A@X.com"],
    )  # fmt: skip
    assert Subject.from_json(subject.to_json()) == subject
    assert subject.needles() == ["A@X.com", "a@x.com"], "shared values are kept, so not looked for"


def test_a_subject_found_again_holds_every_key_of_both_findings() -> None:
    first = Subject(customer_ids=["C-1"], user_ids=[7], identifiers=[("email", "a@x.com"), ("phone", "+14155550100")])
    later = Subject(
        customer_ids=["C-1"], user_ids=[7, 9], order_ids=["web:3"], identifiers=[("email", "a@x.com")],
        shared=[("phone", "+14155550100")],
    )  # fmt: skip
    both = first.union(later)
    assert (both.customer_ids, both.user_ids, both.order_ids) == (["C-1"], [7, 9], ["web:3"])
    assert both.identifiers == [("email", "a@x.com")], "a value someone else holds by now is no longer looked for"
    assert both.shared == [("phone", "+14155550100")]


def test_the_scan_reads_deflated_avro_manifests(lake: Lake) -> None:
    """A manifest holds data file paths; the scan must find one inside the compressed blocks."""
    table = lake.table(tables.ORDERS)
    data_file = next(iter(table.inspect.files().column("file_path").to_pylist()))
    name = data_file.rsplit("/", 1)[-1]
    hits = scan_table(table, [name])
    assert any(path.endswith(".avro") for path in hits.found), hits


def test_a_household_member_sharing_the_subjects_email_keeps_their_records(lake: Lake) -> None:
    links = read_polars(lake.table(tables.IDENTITY_LINKS))
    household = links.filter(pl.col("rule").str.starts_with("household_"), pl.col("kind") == "email")
    email = household["value"][0]
    subject_id, member_id = sorted(household.filter(pl.col("value") == email)["customer_id"])
    theirs = links.filter(pl.col("customer_id") == member_id).sort(links.columns)
    member_orders = theirs.filter(pl.col("kind") == "orders")["value"].to_list()
    subject = find_subject(lake, [subject_id])
    assert ("email", email) in subject.shared and email not in subject.needles()

    report = erase_from_lake(lake, subject, request_id="r-household", min_age_seconds=0)

    assert report.verified
    after = read_polars(lake.table(tables.IDENTITY_LINKS))
    assert after.filter(pl.col("customer_id") == member_id).sort(links.columns).equals(theirs)
    assert after.filter(pl.col("customer_id") == subject_id).is_empty()
    kept = read_polars(lake.table(tables.ORDERS), columns=("order_id",))["order_id"].to_list()
    assert set(member_orders) <= set(kept) and not set(subject.order_ids) & set(kept)
    customers = read_polars(lake.table(tables.CUSTOMERS), columns=("customer_id", "email"))
    [kept_email] = customers.filter(pl.col("customer_id") == member_id)["email"].to_list()
    assert normalize_identifier("email", kept_email) == email, "the member's golden record keeps the shared e-mail"


def test_an_order_of_the_subjects_account_placed_since_the_last_build_is_theirs(lake: Lake) -> None:
    links = read_polars(lake.table(tables.IDENTITY_LINKS)).filter(pl.col("kind") == "users")
    customer, account = links.select("customer_id", pl.col("value").cast(pl.Int64)).row(0)
    orders = lake.table(tables.ORDERS)
    template = read_polars(orders).head(1)
    late = template.with_columns(
        order_id=pl.lit("shopsphere:987654321"), source_order_id=pl.lit("987654321"),
        user_id=pl.lit(account, dtype=template.schema["user_id"]),
    )  # fmt: skip
    write.append(orders, late.to_arrow())
    assert "shopsphere:987654321" in find_subject(lake, [customer]).order_ids


@pytest.mark.parametrize(("prefix", "country", "base"), [("+1", "US", 987650000), ("+44", "GB", 987660000)])
def test_an_account_and_a_guest_order_carrying_the_subjects_values_since_the_last_build_are_theirs(
    lake: Lake, prefix: str, country: str, base: int
) -> None:
    """Landed after the last build, so no link names them: an account opened with the subject's phone in
    national form (read in the account's country), and a guest order with their e-mail spelled another
    way; a stranger's order is not theirs."""
    import phonenumbers

    links = read_polars(lake.table(tables.IDENTITY_LINKS)).filter(pl.col("link_type") == "identifier")
    phones = links.filter((pl.col("kind") == "phone") & pl.col("value").str.starts_with(prefix))
    candidates = phones.join(links.filter(pl.col("kind") == "email"), on="customer_id")["customer_id"].unique()
    subjects = {c: find_subject(lake, [c]) for c in sorted(candidates)}
    customer, before = next((c, s) for c, s in subjects.items() if {"email", "phone"} <= {k for k, _ in s.identifiers})
    email = next(v for k, v in before.identifiers if k == "email")
    phone = next(v for k, v in before.identifiers if k == "phone" and v.startswith(prefix))
    local, domain = email.split("@")
    orders, users = lake.table(tables.ORDERS), lake.table(tables.USERS)
    template = read_polars(orders).head(1)
    nobody = {c: pl.lit(None, template.schema[c]) for c in ("user_id", "phone", "loyalty_id", "device_id")}

    def guest_order(number: int, address: str) -> pl.DataFrame:
        return template.with_columns(
            order_id=pl.lit(f"shopsphere:{number}"), source_order_id=pl.lit(str(number)), email=pl.lit(address),
            source=pl.lit("web"), platform=pl.lit("shopsphere"), marketplace_buyer_id=pl.lit(None, pl.String),
            **nobody,
        )  # fmt: skip

    landed = pl.concat(
        [guest_order(base + 1, f" {local.upper()}+promo@{domain.upper()} "), guest_order(base + 2, f"x{email}")]
    )
    write.append(orders, landed.to_arrow())
    account_template = read_polars(users).head(1)
    national = phonenumbers.format_number(phonenumbers.parse(phone), phonenumbers.PhoneNumberFormat.NATIONAL)
    account = account_template.with_columns(
        user_id=pl.lit(base + 3, account_template.schema["user_id"]), phone=pl.lit(national),
        country=pl.lit(country), email=pl.lit(None, pl.String), loyalty_id=pl.lit(None, pl.String),
    )  # fmt: skip
    write.append(users, account.to_arrow())

    after = find_subject(lake, [customer])

    assert f"shopsphere:{base + 1}" in after.order_ids and f"shopsphere:{base + 2}" not in after.order_ids
    assert base + 1 in after.source_order_ids
    assert base + 3 in after.user_ids and base + 3 not in before.user_ids
