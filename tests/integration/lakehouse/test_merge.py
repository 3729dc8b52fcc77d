"""File-level merges against a Polars reference, row by row, on real Iceberg tables (SQLite catalog)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import ValidationException
from pyiceberg.table import Table

from core.config import load_settings
from lakehouse import merge, write
from lakehouse.catalog import open_catalog
from lakehouse.merge_rules import DeleteRule, UpsertRule
from lakehouse.snapshots import last_property
from lakehouse.tables import create_table
from schema.model import Column, Layer, PartitionField, TableDef

T0 = datetime(2026, 1, 1, tzinfo=UTC)
LINEAGE = ("batch",)

ITEMS = TableDef(
    layer=Layer.CONFORMED,
    name="items",
    doc="test table: monthly partitions, a string key",
    columns=(
        Column(1, "item_id", "string", required=True),
        Column(2, "owner", "long"),
        Column(3, "amount", "decimal(12,2)"),
        Column(4, "created", "timestamptz", required=True),
        Column(5, "note", "string"),
        Column(6, "batch", "string"),
    ),
    key=("item_id",),
    partition=(PartitionField("created", "month"),),
    sort=("item_id",),
)

VERSIONS = TableDef(
    layer=Layer.CONFORMED,
    name="people",
    doc="test table: SCD2",
    columns=(
        Column(1, "person_id", "long", required=True),
        Column(2, "email", "string"),
        Column(3, "city", "string"),
        Column(4, "valid_from", "timestamptz", required=True),
        Column(5, "valid_to", "timestamptz"),
        Column(6, "is_current", "boolean", required=True),
        Column(7, "attr_hash", "string", required=True),
        Column(8, "batch", "string"),
    ),
    key=("person_id", "valid_from"),
    sort=("person_id", "valid_from"),
)


@pytest.fixture
def catalog(tmp_path) -> Catalog:  # type: ignore[no-untyped-def]
    return open_catalog(load_settings(home=tmp_path / "c360").catalog)


def items(rows: list[tuple[str, int, str, int, str]], batch: str = "b") -> pa.Table:
    """(item_id, owner, amount, month offset, note) tuples as rows of ITEMS."""
    return pa.table(
        {
            "item_id": pa.array([r[0] for r in rows], pa.string()),
            "owner": pa.array([r[1] for r in rows], pa.int64()),
            "amount": pa.array([Decimal(r[2]) for r in rows], pa.decimal128(12, 2)),
            "created": pa.array([T0 + timedelta(days=31 * r[3]) for r in rows], pa.timestamp("us", tz="UTC")),
            "note": pa.array([r[4] for r in rows], pa.string()),
            "batch": pa.array([batch] * len(rows), pa.string()),
        }
    )


def contents(table: Table, key: list[str]) -> pl.DataFrame:
    frame = pl.from_arrow(table.scan().to_arrow())
    assert isinstance(frame, pl.DataFrame)
    return frame.sort(key)


def reference_upsert(reference: pl.DataFrame, incoming: pl.DataFrame) -> pl.DataFrame:
    """What an upsert must produce: incoming rows (last per key) replace or join the reference."""
    last = incoming.unique(subset=["item_id"], keep="last", maintain_order=True)
    kept = reference.join(last.select("item_id"), on="item_id", how="anti")
    return pl.concat([kept, last]).sort("item_id")


def assert_same(table: Table, reference: pl.DataFrame, key: list[str], ignore: tuple[str, ...] = ()) -> None:
    actual = contents(table, key).drop(ignore)
    expected = reference.sort(key).drop(ignore).select(actual.columns)
    assert actual.to_dicts() == expected.to_dicts()


def test_upsert_inserts_updates_and_leaves_unchanged_rows_alone(catalog: Catalog) -> None:
    table = create_table(catalog, ITEMS)
    first = items([("a", 1, "1.00", 0, "x"), ("b", 2, "2.00", 1, "y"), ("c", 3, "3.00", 2, "z")])
    merge.upsert(table, first, ignore_columns=LINEAGE)
    snapshots = len(table.snapshots())

    again = merge.upsert(table, items([("a", 1, "1.00", 0, "x")], batch="other"), ignore_columns=LINEAGE)
    assert (again.rows_added, again.files_removed, len(table.snapshots())) == (0, 0, snapshots)

    result = merge.upsert(
        table, items([("b", 2, "9.99", 1, "changed"), ("d", 4, "4.00", 1, "new")]), ignore_columns=LINEAGE
    )
    assert result.details == {"updated": 1, "inserted": 1}
    expected = reference_upsert(
        pl.from_arrow(first), pl.from_arrow(items([("b", 2, "9.99", 1, "changed"), ("d", 4, "4.00", 1, "new")]))
    )  # type: ignore[arg-type]
    assert_same(table, expected, ["item_id"])


def test_upsert_rewrites_only_files_that_hold_an_incoming_key(catalog: Catalog) -> None:
    table = create_table(catalog, ITEMS)
    write.append(table, items([(f"k{i:03d}", i, "1.00", i % 6, "") for i in range(120)]))
    files_before = set(table.inspect.files()["file_path"].to_pylist())
    assert len(files_before) == 6

    result = merge.upsert(table, items([("k006", 6, "7.00", 0, "changed")]), ignore_columns=LINEAGE)

    files_after = set(table.inspect.files()["file_path"].to_pylist())
    assert result.files_removed == 1
    assert len(files_before - files_after) == 1, "only the month holding k006 is rewritten"


def test_delete_keys_removes_every_matching_row_and_only_those(catalog: Catalog) -> None:
    table = create_table(catalog, ITEMS)
    rows = [(f"k{i:02d}", i % 4, "5.00", i % 3, "") for i in range(30)]
    write.append(table, items(rows))

    result = merge.delete_keys(table, pa.table({"owner": [1, 3]}))

    reference = pl.from_arrow(items(rows)).filter(~pl.col("owner").is_in([1, 3]))  # type: ignore[union-attr]
    assert result.rows_removed == 15
    assert_same(table, reference, ["item_id"])


def test_delete_of_absent_keys_commits_nothing(catalog: Catalog) -> None:
    table = create_table(catalog, ITEMS)
    write.append(table, items([("a", 1, "1.00", 0, "")]))
    before = table.current_snapshot().snapshot_id  # type: ignore[union-attr]
    result = merge.delete_keys(table, pa.table({"item_id": ["zzz"]}))
    assert not result.changed
    assert table.current_snapshot().snapshot_id == before  # type: ignore[union-attr]


row_strategy = st.tuples(
    st.sampled_from([f"k{i}" for i in range(12)]),
    st.integers(1, 4),
    st.sampled_from(["1.00", "2.50", "9.99"]),
    st.integers(0, 3),
    st.sampled_from(["", "a", "b"]),
)
operation_strategy = st.one_of(
    st.tuples(st.just("upsert"), st.lists(row_strategy, min_size=1, max_size=8)),
    st.tuples(st.just("delete"), st.lists(st.integers(1, 4), min_size=1, max_size=2)),
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=st.lists(operation_strategy, min_size=1, max_size=5))
def test_random_operation_sequences_match_the_polars_reference(tmp_path_factory, operations) -> None:  # type: ignore[no-untyped-def]
    catalog = open_catalog(load_settings(home=tmp_path_factory.mktemp("h") / "c360").catalog)
    table = create_table(catalog, ITEMS)
    reference = pl.from_arrow(items([]))
    assert isinstance(reference, pl.DataFrame)
    for kind, payload in operations:
        if kind == "upsert":
            incoming = items(payload)
            merge.upsert(table, incoming, ignore_columns=LINEAGE)
            reference = reference_upsert(reference, pl.from_arrow(incoming))  # type: ignore[arg-type]
        else:
            merge.delete_keys(table, pa.table({"owner": pa.array(payload, pa.int64())}))
            reference = reference.filter(~pl.col("owner").is_in(payload))
        assert_same(table, reference, ["item_id"])


def people(rows: list[tuple[int, str, str, int]]) -> pa.Table:
    """(person_id, email, city, day) states; the hash covers only the e-mail (the tracked attribute)."""
    return pa.table(
        {
            "person_id": pa.array([r[0] for r in rows], pa.int64()),
            "email": [r[1] for r in rows],
            "city": [r[2] for r in rows],
            "valid_from": pa.array([T0 + timedelta(days=r[3]) for r in rows], pa.timestamp("us", tz="UTC")),
            "is_current": [True] * len(rows),
            "attr_hash": [r[1] for r in rows],
            "batch": ["b"] * len(rows),
        }
    )


def scd2_reference(states: list[tuple[int, str, str, int]]) -> list[dict[str, object]]:
    """Versions as the SCD2 rules define them, computed the slow obvious way."""
    versions: dict[int, list[dict[str, object]]] = {}
    for person, email, city, day in states:
        history = versions.setdefault(person, [])
        current = history[-1] if history else None
        start = T0 + timedelta(days=day)
        if current is not None and start <= current["valid_from"]:  # type: ignore[operator]
            continue
        if current is not None and current["email"] == email:
            current["city"] = city
            continue
        if current is not None:
            current["valid_to"], current["is_current"] = start, False
        history.append(
            {
                "person_id": person,
                "email": email,
                "city": city,
                "valid_from": start,
                "valid_to": None,
                "is_current": True,
            }
        )
    return sorted((v for h in versions.values() for v in h), key=lambda v: (v["person_id"], v["valid_from"]))


def scd2_contents(table: Table) -> list[dict[str, object]]:
    columns = ["person_id", "email", "city", "valid_from", "valid_to", "is_current"]
    return contents(table, ["person_id", "valid_from"]).select(columns).to_dicts()


def test_scd2_closes_versions_on_tracked_changes_and_updates_in_place_otherwise(catalog: Catalog) -> None:
    table = create_table(catalog, VERSIONS)
    batches = [
        [(1, "a@x", "Paris", 1), (2, "b@x", "Rome", 1)],
        [(1, "a2@x", "Paris", 5), (2, "b@x", "Milan", 6)],  # 1: new version; 2: city only, in place
        [(1, "a2@x", "Paris", 5), (1, "a@x", "Lyon", 3)],  # rerun and an out-of-date state: no change
        [(1, "a3@x", "Nice", 9), (1, "a4@x", "Nice", 10), (3, "c@x", "Oslo", 2)],  # two versions in one batch
    ]
    applied: list[tuple[int, str, str, int]] = []
    for batch in batches:
        merge.scd2_merge(table, people(batch), key="person_id", ignore_columns=LINEAGE)
        applied.extend(sorted(batch, key=lambda r: r[3]))
        assert scd2_contents(table) == scd2_reference(applied)
    current = [v for v in scd2_contents(table) if v["is_current"]]
    assert sorted(v["person_id"] for v in current) == [1, 2, 3]


def test_scd2_rerun_creates_no_snapshot(catalog: Catalog) -> None:
    table = create_table(catalog, VERSIONS)
    states = people([(1, "a@x", "Paris", 1), (2, "b@x", "Rome", 2)])
    merge.scd2_merge(table, states, key="person_id", ignore_columns=LINEAGE)
    snapshots = len(table.snapshots())
    result = merge.scd2_merge(table, states, key="person_id", ignore_columns=LINEAGE)
    assert not result.changed and len(table.snapshots()) == snapshots


def test_snapshot_properties_commit_with_the_rows_and_are_found_past_other_snapshots(catalog: Catalog) -> None:
    table = create_table(catalog, ITEMS)
    merge.upsert(table, items([("a", 1, "1.00", 0, "")]), properties={"c360.watermark": "w1"})
    merge.delete_keys(table, pa.table({"item_id": ["a"]}))
    assert last_property(table, "c360.watermark") == "w1"
    merge.upsert(table, items([("b", 1, "1.00", 0, "")]), properties={"c360.watermark": "w2"})
    assert last_property(table, "c360.watermark") == "w2"


def test_a_conflicting_concurrent_insert_of_the_same_key_is_detected(catalog: Catalog) -> None:
    table = create_table(catalog, ITEMS)
    write.append(table, items([("a", 1, "1.00", 0, "")]))
    other_writer = catalog.load_table(ITEMS.identifier)

    tx = table.transaction()
    merge.stage_merge(
        tx,
        table,
        UpsertRule(write.conform(table.schema().as_arrow(), items([("new", 1, "1.00", 0, "mine")])), ("item_id",)),
        "upsert",
        {},
    )
    merge.upsert(other_writer, items([("new", 2, "2.00", 0, "theirs")]))
    with pytest.raises(ValidationException):
        tx.commit_transaction()
    assert contents(catalog.load_table(ITEMS.identifier), ["item_id"])["item_id"].to_list() == ["a", "new"]


def test_commit_with_retry_replans_after_a_conflict(catalog: Catalog) -> None:
    table = create_table(catalog, ITEMS)
    write.append(table, items([("a", 1, "1.00", 0, "")]))
    other_writer = catalog.load_table(ITEMS.identifier)
    attempts = []

    def operation(tx):  # type: ignore[no-untyped-def]
        attempts.append(1)
        incoming = write.conform(table.schema().as_arrow(), items([("new", 1, "1.00", 0, "mine")]))
        result = merge.stage_merge(tx, table, UpsertRule(incoming, ("item_id",)), "upsert", {})
        if len(attempts) == 1:  # another writer commits the same key while we are planning
            merge.upsert(other_writer, items([("new", 2, "2.00", 0, "theirs")]))
        return result

    write.commit_with_retry(table, operation)
    final = contents(catalog.load_table(ITEMS.identifier), ["item_id"])
    assert len(attempts) == 2
    assert final.filter(pl.col("item_id") == "new")["note"].to_list() == ["mine"], "no duplicate key, last writer wins"


def test_a_checked_append_is_planned_again_on_what_a_concurrent_writer_committed(catalog: Catalog) -> None:
    """pyiceberg would re-apply a plain append on the new parent; a checked one must see that parent."""
    table = create_table(catalog, ITEMS)
    other_writer = catalog.load_table(ITEMS.identifier)
    seen: list[str | None] = []

    def plan(last):  # type: ignore[no-untyped-def]
        seen.append(last("test.position"))
        if len(seen) == 1:  # another writer commits its position while we are planning
            write.append(other_writer, items([("theirs", 1, "1.00", 0, "")]), properties={"test.position": "7"})
        if seen[-1] == "7":
            return items([]), {}
        return items([("mine", 2, "2.00", 0, "")]), {"test.position": "7"}

    write.append_checked(table, plan)

    assert seen == [None, "7"]
    final = contents(catalog.load_table(ITEMS.identifier), ["item_id"])
    assert final["item_id"].to_list() == ["theirs"], "the stale plan's rows were re-applied"


def test_several_operations_commit_together_or_not_at_all(catalog: Catalog) -> None:
    table = create_table(catalog, ITEMS)
    write.append(table, items([("a", 1, "1.00", 0, ""), ("b", 2, "2.00", 1, "")]))
    version_before = len(table.metadata.metadata_log)
    schema = table.schema().as_arrow()

    def both(tx):  # type: ignore[no-untyped-def]
        merge.stage_merge(tx, table, DeleteRule(pa.table({"item_id": ["a"]}), ("item_id",)), "delete", {})
        return write.stage_append(tx, write.conform(schema, items([("c", 3, "3.00", 2, "")])), {"c360.watermark": "w9"})

    write.commit_with_retry(table, both)
    assert len(table.metadata.metadata_log) == version_before + 1, "one catalog commit"
    assert contents(table, ["item_id"])["item_id"].to_list() == ["b", "c"]

    def fails_halfway(tx):  # type: ignore[no-untyped-def]
        incoming = write.conform(schema, items([("b", 2, "9.00", 1, "changed"), ("d", 4, "4.00", 1, "")]))
        merge.stage_merge(tx, table, UpsertRule(incoming, ("item_id",)), "upsert", {})
        raise RuntimeError("crash before commit")

    with pytest.raises(RuntimeError):
        write.commit_with_retry(table, fails_halfway)
    table.refresh()
    assert contents(table, ["item_id"])["item_id"].to_list() == ["b", "c"], "nothing of the failed transaction landed"
    on_disk = {str(p) for p in Path(table.location().removeprefix("file://")).rglob("*.parquet")}
    live = {f.removeprefix("file://") for f in table.inspect.files()["file_path"].to_pylist()}
    older = {f.removeprefix("file://") for s in table.snapshots() for f in _snapshot_files(table, s.snapshot_id)}
    assert on_disk == live | older, "the files the failed transaction wrote were removed"


def _snapshot_files(table: Table, snapshot_id: int) -> list[str]:
    return [t.file.file_path for t in table.scan(snapshot_id=snapshot_id).plan_files()]


def test_tables_are_queryable_with_duckdb_and_polars(catalog: Catalog) -> None:
    from lakehouse.query import duckdb_over, read_polars

    table = create_table(catalog, ITEMS)
    write.append(table, items([("a", 1, "1.50", 0, ""), ("b", 1, "2.50", 1, ""), ("c", 2, "4.00", 1, "")]))
    con = duckdb_over({"items": table})
    assert con.execute("SELECT owner, sum(amount) FROM items GROUP BY owner ORDER BY owner").fetchall() == [
        (1, Decimal("4.00")),
        (2, Decimal("4.00")),
    ]
    assert read_polars(table, row_filter="owner == 2", columns=("item_id",))["item_id"].to_list() == ["c"]


def test_a_commit_with_an_unknown_outcome_keeps_its_files(catalog: Catalog, monkeypatch: pytest.MonkeyPatch) -> None:
    from pyiceberg.exceptions import CommitStateUnknownException

    table = create_table(catalog, ITEMS)
    original = Table._do_commit

    def lands_then_reports_unknown(self, updates, requirements):  # type: ignore[no-untyped-def]
        original(self, updates, requirements)
        raise CommitStateUnknownException("the catalog answered 504 after committing")

    monkeypatch.setattr(Table, "_do_commit", lands_then_reports_unknown)
    with pytest.raises(CommitStateUnknownException):
        write.append(table, items([("a", 1, "1.00", 0, "")]))
    monkeypatch.undo()
    reloaded = catalog.load_table(ITEMS.identifier)
    assert contents(reloaded, ["item_id"])["item_id"].to_list() == ["a"], "the landed commit is readable"


def test_pruning_by_an_immutable_column_probes_only_files_in_its_range(catalog: Catalog) -> None:
    table = create_table(catalog, ITEMS)
    write.append(table, items([(f"k{i:03d}", i, "1.00", i % 6, "") for i in range(120)]))
    incoming = items([("k006", 6, "7.00", 0, "changed"), ("new", 1, "1.00", 0, "")])  # both in the first month
    pruned = merge.upsert(table, incoming, ignore_columns=LINEAGE, prune_by=("created",))
    assert pruned.files_probed == 1, "only the month the incoming rows belong to"
    reference = reference_upsert(
        pl.from_arrow(items([(f"k{i:03d}", i, "1.00", i % 6, "") for i in range(120)])),  # type: ignore[arg-type]
        pl.from_arrow(incoming),  # type: ignore[arg-type]
    )
    assert_same(table, reference, ["item_id"])
