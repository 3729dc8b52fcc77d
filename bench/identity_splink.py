"""Splink 5 (DuckDB backend) configured as a careful user would, for the identity accuracy benchmark.

- Cleaned inputs: the same normalisers as our engine (E.164 phones, canonical e-mails without
  relay or junk values, folded names with nicknames mapped, street abbreviations, postcodes).
- Blocking on each identifier and on names with postcode (plus first name with postcode and date
  of birth, as a FEBRL user would add); term-frequency adjustments on the strong identifiers, so a value shared
  by many records (a store kiosk's device) weighs little.
- u by random sampling, m by expectation-maximisation on the blocks of TRAINING_BLOCKS (a block
  whose EM fails is skipped, as a user would), the prior from deterministic rules; clusters of
  pairs at match probability >= 0.9.
"""

from __future__ import annotations

import logging

import polars as pl

from identity.match import normalised

IDENTIFIERS = ("user_id", "loyalty_id", "device_id", "marketplace_buyer_id")
THRESHOLD = 0.9
# EM sessions; each trains the comparisons its block does not fix. Names and postcode cover all of them.
TRAINING_BLOCKS = (("first", "last"), ("postcode",), ("email",), ("dob",))


def cleaned(records: pl.DataFrame, *, default_region: str) -> pl.DataFrame:
    """One row per record: unique_id, the cleaned match columns and the strong identifiers."""
    frame = normalised(records, default_region=default_region)
    ids = records.select("record_id", *IDENTIFIERS).unique("record_id", keep="last")
    joined = frame.drop("row", "names").join(ids, on="record_id", how="left")
    present = [c for c in joined.columns if c == "record_id" or joined[c].null_count() < len(joined)]
    return joined.select(present).rename({"record_id": "unique_id"})


def _settings(columns: list[str]):  # type: ignore[no-untyped-def]
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    comparisons = []
    for name in ("first", "last"):
        if name in columns:
            comparisons.append(cl.NameComparison(name))
    if "dob" in columns:
        comparisons.append(cl.DateOfBirthComparison("dob", input_is_string=True))
    for name in ("street", "city"):
        if name in columns:
            comparisons.append(cl.JaroWinklerAtThresholds(name, [0.92, 0.85]))
    for name in ("postcode", "phone", "national_id"):
        if name in columns:
            comparisons.append(cl.LevenshteinAtThresholds(name, [1, 2]))
    if "email" in columns:
        comparisons.append(cl.EmailComparison("email"))
    # Term-frequency adjustments: a value many records share (a store kiosk's device) weighs little.
    comparisons.extend(
        cl.ExactMatch(name).configure(term_frequency_adjustments=True) for name in IDENTIFIERS if name in columns
    )
    rules = [block_on(name) for name in (*IDENTIFIERS, "phone", "email", "national_id") if name in columns]
    named = [rule for rule in (("first", "last"), ("last", "postcode"), ("first", "postcode"), ("dob",))
             if all(part in columns for part in rule)]  # fmt: skip
    rules.extend(block_on(*rule) for rule in named)
    return SettingsCreator(
        link_type="dedupe_only", comparisons=comparisons, blocking_rules_to_generate_predictions=rules
    )


def run(records: pl.DataFrame, *, default_region: str) -> pl.DataFrame:
    """(record_id, cluster) for every record, as Splink clusters them."""
    from splink import DuckDBAPI, Linker, block_on

    data = cleaned(records, default_region=default_region)
    columns = data.columns
    db_api = DuckDBAPI()
    linker = Linker(db_api.register(data.to_arrow()), _settings(columns), log_level=logging.WARNING)
    deterministic = [block_on(name) for name in ("email", "phone", "user_id", "national_id") if name in columns]
    linker.training.estimate_probability_two_random_records_match(deterministic, recall=0.7)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
    for rule in TRAINING_BLOCKS:
        if all(part in columns for part in rule):
            try:
                linker.training.estimate_parameters_using_expectation_maximisation(block_on(*rule))
            except ValueError as exc:  # an m probability reached 0 on this block: train on the others
                logging.getLogger(__name__).warning("Splink EM on %s failed: %s", rule, exc)
    pairs = linker.inference.predict(threshold_match_probability=THRESHOLD)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(pairs, THRESHOLD)
    found = pl.from_arrow(clusters.as_duckdbpyrelation().select("unique_id, cluster_id").arrow())
    assert isinstance(found, pl.DataFrame)
    result = found.select(pl.col("unique_id").alias("record_id"), pl.col("cluster_id").cast(pl.String).alias("cluster"))
    return result
