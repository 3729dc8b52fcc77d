"""Customer ids survive a rebuild of the gold layer (maximum overlap), and changes are logged in the lake."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest
from sqlmodel import Session

from core.config import Settings, load_settings
from core.db import make_engine
from identity import overrides
from identity.job import run_identity
from lakehouse import write
from lakehouse.lake import Lake
from lakehouse.query import read_polars
from schema import lake as tables
from tests.conftest import BUILD_TIME
from tests.support import SAMPLE_DIR, duckdb_with_iceberg


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A lakehouse of its own built from the sample (these tests rewrite its gold layer)."""
    from pipeline import run_pipeline

    built = load_settings(home=tmp_path_factory.mktemp("ids") / "c360")
    run_pipeline(built, SAMPLE_DIR, now=BUILD_TIME)
    return built


def test_a_rebuild_keeps_the_ids_customers_already_had_and_logs_merges(settings: Settings) -> None:
    with Lake.open(settings.catalog) as lake:
        links = read_polars(lake.table(tables.IDENTITY_LINKS))
        # Ids an earlier engine handed out (not derived from the anchor record), and two customers
        # that were one before: the next build must keep those ids and log the merge it undoes.
        legacy = {c: f"C-legacy-{i:04d}" for i, c in enumerate(links["customer_id"].unique().sort().to_list())}
        first, second = sorted(legacy)[:2]
        legacy[second] = legacy[first]
        write.replace_all(
            lake.table(tables.IDENTITY_LINKS), links.with_columns(pl.col("customer_id").replace(legacy)).to_arrow()
        )
        evidence = lake.table(tables.IDENTITY_EVIDENCE)
        write.replace_all(evidence, evidence.schema().as_arrow().empty_table())  # that engine kept no evidence
        report, _ = run_identity(lake, settings.identity, build_id="rebuild")
        customers = read_polars(lake.table(tables.CUSTOMERS))["customer_id"].to_list()
        changes = read_polars(lake.table(tables.CUSTOMER_ID_CHANGES))
        location = lake.table(tables.CUSTOMER_ID_CHANGES).metadata_location
        by_duckdb = duckdb_with_iceberg().execute(f"SELECT old_customer_id FROM iceberg_scan('{location}')").fetchall()
    assert by_duckdb == [(legacy[first],)], "other engines read the change log too"
    assert sum(c.startswith("C-legacy-") for c in customers) == len(set(legacy.values())), "every old id kept"
    assert report.id_changes == 1 and report.mode == "full"
    assert changes.select("old_customer_id", "change", "build_id").rows() == [(legacy[first], "split", "rebuild")]
    assert changes["new_customer_id"].item() in customers


def test_an_override_added_rebuilds_the_gold_layer_and_is_applied(settings: Settings) -> None:
    from pipeline import build_gold

    with Lake.open(settings.catalog) as lake:
        links = read_polars(lake.table(tables.IDENTITY_LINKS)).filter(pl.col("kind") == "users")
        (a, customer_a), (b, customer_b) = (
            links.unique("customer_id").sort("value").select("value", "customer_id").rows()[:2]
        )
        assert customer_a != customer_b
        engine = make_engine(str(settings.store.url))
        with Session(engine) as session:
            overrides.create(session, rule="must_link", left_record=f"users:{a}", right_record=f"users:{b}")
        engine.dispose()
        identity, _ = build_gold(settings, lake, now=BUILD_TIME)
        assert identity is not None, "a new decision is a new input"
        after = read_polars(lake.table(tables.IDENTITY_LINKS)).filter(pl.col("kind") == "users")
        owners = dict(after.select("value", "customer_id").iter_rows())
        assert owners[a] == owners[b]
        assert build_gold(settings, lake, now=BUILD_TIME) == (None, None), "nothing changed since"


def test_a_changed_identity_setting_rebuilds_the_gold_layer_with_it(settings: Settings) -> None:
    from pipeline import build_gold

    recent = settings.model_copy(
        update={"identity": settings.identity.model_copy(update={"survivorship": {"first_name": "most_recent"}})}
    )
    with Lake.open(settings.catalog) as lake:
        build_gold(settings, lake, now=BUILD_TIME)
        identity, _ = build_gold(recent, lake, now=BUILD_TIME)
        assert identity is not None, "a new setting is a new input"
        lineage = read_polars(lake.table(tables.CUSTOMERS))["lineage"].str.json_decode()
        rules = {entry["first_name"]["rule"] for entry in lineage.to_list() if entry.get("first_name")}
        assert rules == {"most_recent_then_source_priority"}
        assert build_gold(recent, lake, now=BUILD_TIME) == (None, None), "nothing changed since"


def test_new_orders_and_visits_of_known_customers_attach_without_a_recompute(settings: Settings) -> None:
    """The next build attaches orders it has not seen and a signed-in device's new visit, and writes
    what a full recompute writes (the visit moves its customer's last_seen)."""
    from identity.job import load_records
    from identity.resolve import renamed, resolve
    from identity.stable import carry_over
    from pipeline import build_gold

    with Lake.open(settings.catalog) as lake:
        build_gold(settings, lake, now=BUILD_TIME)
        orders = read_polars(lake.table(tables.ORDERS))
        again = orders.filter((pl.col("source") == "web") & pl.col("email").is_not_null() & ~pl.col("is_deleted"))
        again = again.head(5).with_columns(pl.concat_str(pl.col("order_id"), pl.lit("-again")).alias("order_id"))
        write.append(lake.table(tables.ORDERS), again.to_arrow())
        events = read_polars(lake.table(tables.EVENTS))
        signed_in = events.filter(pl.col("user_id").is_not_null() & pl.col("device_id").is_not_null())
        visit = (
            signed_in.sort("event_ts")
            .tail(1)
            .with_columns(
                pl.concat_str("event_id", pl.lit("-again")).alias("event_id"),
                pl.lit(datetime(2026, 11, 15, tzinfo=UTC)).alias("event_ts"),  # after everything in the sample
            )
        )
        write.append(lake.table(tables.EVENTS), visit.to_arrow())
        identity, _ = build_gold(settings, lake, now=BUILD_TIME)
        assert identity is not None and identity.mode == "incremental"
        customers = read_polars(lake.table(tables.CUSTOMERS))
        links = read_polars(lake.table(tables.IDENTITY_LINKS))
        records, found = load_records(lake, default_region=settings.identity.default_region)
    engine = make_engine(str(settings.store.url))
    with Session(engine) as session:
        must_links, cannot_links = overrides.as_constraints(overrides.list_overrides(session))
    engine.dispose()
    options = settings.identity
    full = resolve(
        records, found, max_people=options.junk_max_people, default_region=options.default_region, build_id="full",
        limits=options.per_customer_limits, survivorship=options.survivorship, must_links=must_links,
        cannot_links=cannot_links,
    )  # fmt: skip
    attached = links.filter(pl.col("link_type") == "record").select(
        pl.concat_str("kind", pl.lit(":"), "value").alias("record_id"), "customer_id"
    )
    final, changes = carry_over(attached, full.membership.select("record_id", "customer_id"))
    full = renamed(full, final)
    assert changes.is_empty(), "the same customers, under the same ids"
    device_record = f"devices:{visit['device_id'].item()}|{visit['user_id'].item()}"
    visitor = links.filter(pl.col("link_type") == "record").filter(
        pl.concat_str("kind", pl.lit(":"), "value") == device_record
    )["customer_id"]
    assert customers.filter(pl.col("customer_id") == visitor.item())["last_seen"].item() == visit["event_ts"].item()
    new_keys = again["order_id"].to_list()
    assert links.filter(pl.col("value").is_in(new_keys)).height == len(new_keys), "every new order joined a customer"
    for mine, theirs in ((customers, full.customers), (links, full.links)):
        columns = [c for c in theirs.columns if c != "build_id"]
        assert mine.select(columns).sort(columns).equals(theirs.select(columns).sort(columns))
