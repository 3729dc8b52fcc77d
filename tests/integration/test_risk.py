"""Risk scores through the real pipeline: on the sample, readable by other engines, one row per customer, labelled
fraud ranked above everyone else; on a small cut of it, history appended by later builds and by `c360 score`."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
from typer.testing import CliRunner

from cli import app
from core.config import Settings
from identity.attribution import attribute_events
from lakehouse import write
from lakehouse.lake import Lake
from lakehouse.query import read_polars
from lakehouse.snapshots import history, last_property
from risk.evaluate import labelled_customers, roc_auc
from risk.job import score_current_build
from risk.live import LiveRisk
from schema import lake as tables
from schema.lake import PROP_BUILD_ID, PROP_RISK_CONFIG
from tests.conftest import BUILD_TIME, Built
from tests.support import SAMPLE_DIR, duckdb_with_iceberg


@pytest.fixture(scope="module")
def lake(built: Built) -> Iterator[Lake]:
    """The session's lakehouse of the whole sample, read only."""
    with Lake.open(built.settings.catalog) as opened:
        yield opened


def scores_by_duckdb(lake: Lake) -> pl.DataFrame:
    location = lake.table(tables.RISK_SCORES).metadata_location
    query = f"SELECT customer_id, score, reasons, build_id, scored_at FROM iceberg_scan('{location}')"
    return duckdb_with_iceberg().execute(query).pl()


def test_every_customer_is_scored_once_by_the_build_and_other_engines_read_it(lake: Lake) -> None:
    scores = scores_by_duckdb(lake)
    customers = read_polars(lake.table(tables.CUSTOMERS), columns=("customer_id", "build_id"))
    snapshot = lake.table(tables.RISK_SCORES).current_snapshot()
    assert sorted(scores["customer_id"]) == sorted(customers["customer_id"])
    assert set(scores["build_id"]) == set(customers["build_id"]) and set(scores["scored_at"]) == {BUILD_TIME}
    assert scores["score"].min() >= 0 and scores["score"].max() <= 100
    for row in scores.filter(pl.col("score") > 0).iter_rows(named=True):
        reasons = json.loads(row["reasons"])
        assert reasons and min(row["score"], 100) == min(100, sum(r["contribution"] for r in reasons))
    assert snapshot is not None and snapshot.summary is not None
    config = json.loads(snapshot.summary.additional_properties[PROP_RISK_CONFIG])
    assert set(config) == {"settings", "site_medians"} and config["site_medians"]


def test_customers_holding_labelled_fraud_score_higher(lake: Lake) -> None:
    scores = read_polars(lake.table(tables.RISK_SCORES), columns=("customer_id", "score"))
    links = read_polars(lake.table(tables.IDENTITY_LINKS))
    events = read_polars(lake.table(tables.EVENTS), columns=("event_id", "device_id", "user_id")).rechunk()
    labels = labelled_customers(
        pl.read_csv(SAMPLE_DIR / "truth" / "fraud.csv", infer_schema=False),
        record_links=links.filter(pl.col("link_type") == "record"),
        orders=read_polars(lake.table(tables.ORDERS), columns=("order_id", "source", "platform", "source_order_id")),
        marketplace_orders=read_polars(lake.table(tables.MARKETPLACE_ORDERS)),
        events=attribute_events(events, links.filter(pl.col("link_type") == "identifier")),
    )
    positive = scores["customer_id"].is_in(labels["customer_id"].implode())
    assert labels["pattern"].n_unique() == 8, "every injected pattern reaches a customer"
    fraud, others = scores.filter(positive)["score"], scores.filter(~positive)["score"]
    assert fraud.mean() > others.mean() + 30  # type: ignore[operator]
    assert roc_auc(scores["score"], positive) > 0.9


def test_a_new_build_appends_its_scores_and_an_unchanged_one_writes_nothing(small: Settings) -> None:
    from pipeline import build_gold

    changed = small.model_copy(
        update={"identity": small.identity.model_copy(update={"survivorship": {"first_name": "most_recent"}})}
    )
    with Lake.open(small.catalog) as lake:
        before = scores_by_duckdb(lake)
        identity, _ = build_gold(changed, lake, now=BUILD_TIME)
        assert identity is not None
        after = scores_by_duckdb(lake)
        snapshots = len(history(lake.table(tables.RISK_SCORES)))
        assert build_gold(changed, lake, now=BUILD_TIME) == (None, None)
        assert len(history(lake.table(tables.RISK_SCORES))) == snapshots, "a current gold layer is not scored again"
    assert after.n_unique("build_id") == 2 and len(after) == 2 * len(before)
    assert (
        after.filter(pl.col("build_id") == before["build_id"][0]).sort("customer_id").equals(before.sort("customer_id"))
    )
    assert after.group_by("build_id", "customer_id").len()["len"].max() == 1


def test_c360_score_rescores_the_current_build_and_keeps_it_current(
    small: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline import build_gold

    monkeypatch.setenv("C360_HOME", str(small.home))
    monkeypatch.setenv("C360_RISK__RULES__SHARED_IDENTIFIER__WEIGHT", "0")
    with Lake.open(small.catalog) as lake:
        build_gold(small, lake, now=BUILD_TIME)  # current with these settings, whichever test ran before
        rows_before = lake.table(tables.RISK_SCORES).scan().count()
        build = lake.table(tables.CUSTOMERS).current_snapshot().summary.additional_properties[PROP_BUILD_ID]  # type: ignore[union-attr]
    result = CliRunner().invoke(app, ["score"])
    assert result.exit_code == 0, result.output
    with Lake.open(small.catalog) as lake:
        table = lake.table(tables.RISK_SCORES)
        latest = read_polars(table).filter(pl.col("scored_at") == pl.col("scored_at").max())
        assert table.scan().count() == rows_before + len(latest)
        assert set(latest["build_id"]) == {build} and build in result.output
        assert not latest["reasons"].str.contains("SHARED_IDENTIFIER").any(), "the new weight was used"
        assert build_gold(small, lake, now=BUILD_TIME) == (None, None), "the gold layer is still current"


def test_stream_rescoring_appends_a_changed_score_and_nothing_for_an_unchanged_one(small: Settings) -> None:
    """Each batch is committed to the events table first, as the stream worker does before its hook runs."""
    rescored_at = datetime.now(UTC)  # after every scoring earlier tests made of this lake
    with Lake.open(small.catalog) as lake:
        score_current_build(lake, small.risk, now=rescored_at)  # measured with these settings, whichever test ran
        events = lake.table(tables.EVENTS)
        template = read_polars(events).filter(pl.col("user_id").is_not_null()).head(1)
        account = (
            read_polars(lake.table(tables.IDENTITY_LINKS)).filter(pl.col("rule") == "exact:user_id").row(0, named=True)
        )

        def commit(*kinds: str) -> pl.DataFrame:
            batch = pl.concat(
                template.with_columns(
                    event_id=pl.lit(uuid.uuid4().hex),
                    event_type=pl.lit(kind),
                    user_id=pl.lit(int(account["value"]), dtype=pl.Int64),
                    event_ts=pl.lit(rescored_at + timedelta(seconds=second)),
                    session_id=pl.lit("sess-live"),
                )  # fmt: skip
                for second, kind in enumerate(kinds)
            )
            write.append(events, batch.to_arrow())
            return batch

        live = LiveRisk(lake, small.risk, clock=lambda: rescored_at + timedelta(minutes=1))
        snapshots = len(history(lake.table(tables.RISK_SCORES)))
        assert live.rescore(commit("view", "login")) is None
        assert len(history(lake.table(tables.RISK_SCORES))) == snapshots, "an unchanged score is not written"
        rows = live.rescore(commit("add_to_cart", "purchase"))
        assert rows is not None and rows["customer_id"].to_list() == [account["customer_id"]]
        assert "CART_TO_PURCHASE_FAST" in rows["reasons"].item()
        written = read_polars(lake.table(tables.RISK_SCORES)).filter(pl.col("customer_id") == account["customer_id"])
        assert written.sort("scored_at")[-1].select(rows.columns).equals(rows)
        assert rows["build_id"].to_list() == [last_property(lake.table(tables.CUSTOMERS), PROP_BUILD_ID)]
        assert live.rescore(commit("add_to_cart", "purchase")) is None, "the same reasons again are not written"
