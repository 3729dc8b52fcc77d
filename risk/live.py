"""Stream rescoring: a customer's risk score follows their new events between gold builds.

Features such as `device_customers` count other customers, so rescoring one customer needs
everyone's devices and accounts. The rescorer keeps the last batch scoring's frames in memory,
loads them again when a newer scoring lands (a build, or `c360 score`), and adds each committed
batch's events to them. Only customers whose score or reasons changed are written: appended to
`gold.risk_scores` under the scoring's build id, so history keeps every rescoring and the next
projection of that build serves the newest row.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import polars as pl

from core.config import RiskSettings
from identity.attribution import attribute_events
from lakehouse import write
from lakehouse.lake import Lake
from lakehouse.query import equal_to, newest_per, read_polars
from lakehouse.snapshots import last_carrying, last_property
from risk.features import RiskFrames
from risk.job import (
    behaviour_events,
    device_accounts,
    frames_from,
    kiosk_ids,
    read_inputs,
    rescore,
    signed_in_pairs,
)
from risk.score import SCORE_COLUMNS, stamped
from schema import lake as tables
from schema.lake import PROP_BUILD_ID, PROP_INPUTS, PROP_RISK_CONFIG

logger = logging.getLogger(__name__)


@dataclass
class _Scoring:
    """The batch scoring rescores are measured against, with the frames it was computed from."""

    build_id: str
    carrier: int  # the snapshot carrying the scoring's PROP_RISK_CONFIG
    inputs: str  # PROP_INPUTS of the build, carried by every rescoring appended to it
    frames: RiskFrames
    attribution: pl.DataFrame  # identifier links events are attributed by
    kiosks: pl.Series  # normalised kiosk device ids, set aside
    medians: pl.DataFrame
    scores: pl.DataFrame  # customer_id, score, reasons: each customer's newest written row


def _now() -> datetime:
    return datetime.now(UTC)


class LiveRisk:
    """Rescores the customers of each committed event batch (the stream worker's path)."""

    def __init__(
        self, lake: Lake, settings: RiskSettings, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ):
        self.lake = lake
        self.settings = settings
        self.clock = clock
        self._scoring: _Scoring | None = None

    def rescore(self, events: pl.DataFrame) -> pl.DataFrame | None:
        """Score the customers these committed events belong to; the rows written for those whose score changed.

        The rows are shaped like `gold.risk_scores`; None when nothing changed, or before the first
        batch scoring.
        """
        table = self.lake.table(tables.RISK_SCORES)
        build_id, carried = last_property(table, PROP_BUILD_ID), last_carrying(table, PROP_RISK_CONFIG)
        if build_id is None or carried is None:
            return None
        # a new scoring, or its config re-committed by maintenance (an erasure expiring rows, say)
        carrier, config = carried
        scoring = self._scoring
        if scoring is None or (scoring.build_id, scoring.carrier) != (build_id, carrier):
            # loaded after the batch's commit, so the batch is in it already
            scoring = self._scoring = self._load(build_id, carrier, config, last_property(table, PROP_INPUTS) or "")
            customers = attribute_events(behaviour_events(events), scoring.attribution)["customer_id"]
        else:
            customers = self._add(scoring, events)
        customers = pl.concat([customers, self._sharing_devices(scoring, events)]).unique()
        if customers.is_empty():
            return None
        return self._write(scoring, rescore(scoring.frames, customers.to_list(), self.settings, scoring.medians))

    def _load(self, build_id: str, carrier: int, config: str, inputs: str) -> _Scoring:
        read = read_inputs(self.lake)
        scores = read_polars(self.lake.table(tables.RISK_SCORES), row_filter=equal_to(build_id=build_id))
        medians = json.loads(config)["site_medians"]
        logger.info("stream rescoring measures against the scoring of build %s", build_id)
        return _Scoring(
            build_id=build_id,
            carrier=carrier,
            inputs=inputs,
            frames=frames_from(read),
            attribution=read.links.filter(pl.col("link_type") == "identifier"),
            kiosks=kiosk_ids(read.kiosks),
            medians=pl.DataFrame(
                {"currency": list(medians), "site_median": list(medians.values())},
                schema={"currency": pl.String, "site_median": pl.Float64},
            ),
            scores=newest_per(scores, "customer_id", "scored_at").select("customer_id", "score", "reasons"),
        )

    @staticmethod
    def _add(scoring: _Scoring, events: pl.DataFrame) -> pl.Series:
        """Add the batch to the frames; the customers its behaviour events belong to."""
        attributed = attribute_events(behaviour_events(events), scoring.attribution)
        pairs = device_accounts(signed_in_pairs(events), scoring.kiosks)
        frames = scoring.frames
        scoring.frames = replace(
            frames,
            events=pl.concat([frames.events, attributed.select(frames.events.columns)]),
            device_accounts=pl.concat([frames.device_accounts, pairs]).unique(),
        )
        return attributed["customer_id"]

    @staticmethod
    def _sharing_devices(scoring: _Scoring, events: pl.DataFrame) -> pl.Series:
        """Customers signed in on a device the batch shows someone signing in on: their device counts may move."""
        devices = device_accounts(signed_in_pairs(events), scoring.kiosks)["device_id"].implode()
        accounts = scoring.frames.device_accounts.filter(pl.col("device_id").is_in(devices))
        return accounts.join(scoring.frames.accounts, on="user_id")["customer_id"]

    def _write(self, scoring: _Scoring, rescored: pl.DataFrame) -> pl.DataFrame | None:
        """Append the rescored rows that differ from the customer's newest written one."""
        before = scoring.scores.rename({"score": "was_score", "reasons": "was_reasons"})
        compared = rescored.join(before, on="customer_id", how="left")
        moved = (pl.col("score") != pl.col("was_score")) | (pl.col("reasons") != pl.col("was_reasons"))
        changed = compared.filter(moved.fill_null(True)).select(SCORE_COLUMNS)
        if changed.is_empty():
            return None
        rows = stamped(changed, build_id=scoring.build_id, scored_at=self.clock())
        properties = {PROP_BUILD_ID: scoring.build_id, PROP_INPUTS: scoring.inputs}
        write.append(self.lake.table(tables.RISK_SCORES), rows.to_arrow(), properties=properties)
        kept = scoring.scores.filter(~pl.col("customer_id").is_in(rows["customer_id"].implode()))
        scoring.scores = pl.concat([kept, rows.select(scoring.scores.columns)])
        logger.info("stream rescoring: %d customer(s) rescored, %d changed", len(rescored), len(rows))
        return rows
