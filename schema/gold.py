"""Gold tables: the Customer 360 built from the conformed layer, rebuilt per identity run."""

from __future__ import annotations

from schema.model import MONEY, Layer, PartitionField, TableDef
from schema.model import Column as C

CUSTOMERS = TableDef(
    layer=Layer.GOLD,
    name="customers",
    doc="Golden customers: one row per resolved person with the surviving attribute values.",
    columns=(
        C(1, "customer_id", "string", required=True, doc="stable id, e.g. C-3f9a0c21d4e5"),
        C(2, "first_name", "string", pii=True),
        C(3, "last_name", "string", pii=True),
        C(4, "email", "string", pii=True),
        C(5, "phone", "string", pii=True),
        C(6, "dob", "date", pii=True),
        C(7, "street", "string", pii=True),
        C(8, "city", "string"),
        C(9, "postcode", "string", pii=True),
        C(10, "country", "string"),
        C(11, "loyalty_id", "string", pii=True),
        C(12, "lineage", "string", doc="JSON: attribute -> source record and rule that supplied it"),
        C(13, "record_count", "int"),
        C(14, "first_seen", "timestamptz"),
        C(15, "last_seen", "timestamptz"),
        C(16, "build_id", "string", required=True, doc="the build that last wrote the row"),
    ),
    key=("customer_id",),
    sort=("customer_id",),
    layout_rationale="unpartitioned, sorted by customer_id: rebuilt per identity run; served from the store.",
)

IDENTITY_LINKS = TableDef(
    layer=Layer.GOLD,
    name="identity_links",
    doc="Which source records and normalised identifiers belong to which golden customer, and why.",
    columns=(
        C(1, "customer_id", "string", required=True),
        C(2, "link_type", "string", required=True, doc="record or identifier"),
        C(
            3,
            "kind",
            "string",
            required=True,
            doc="record source table, or identifier kind (email, phone, ...)",
        ),
        C(4, "value", "string", required=True, pii=True, doc="record key, or normalised identifier value"),
        C(5, "rule", "string", doc="how it was linked, e.g. exact:email"),
        C(6, "confidence", "double"),
        C(7, "build_id", "string", required=True),
    ),
    key=("link_type", "kind", "value"),
    sort=("customer_id",),
    layout_rationale="unpartitioned, sorted by customer_id: rebuilt per identity run; served from the store.",
)

IDENTITY_EVIDENCE = TableDef(
    layer=Layer.GOLD,
    name="identity_evidence",
    doc=(
        "The identity graph of a build, edge by edge: what each record carries, which records matched and"
        " why, the must-links and the links cut, and the identifiers kept out of it (set aside, household)."
        " Explanations and incremental attach read it."
    ),
    columns=(
        C(1, "customer_id", "string", doc="the customer of record_id; null for a record that joined none"),
        C(2, "edge", "string", required=True, doc="record, identifier, match, must_link, cut, set_aside or household"),
        C(
            3,
            "record_id",
            "string",
            pii=True,
            doc="source table and key, e.g. users:42; null for an identifier's own rows",
        ),
        C(4, "target_kind", "string", doc="identifier kind, or record for record-to-record edges"),
        C(
            5,
            "target_value",
            "string",
            pii=True,
            doc="normalised identifier value, or the other record; a record edge's content digest",
        ),
        C(6, "probability", "double", doc="a match edge's probability; a record edge's membership confidence"),
        C(
            7,
            "evidence",
            "string",
            pii=True,
            doc="a match's comparison levels; a cut's constraint and removed link (JSON); why an identifier is out",
        ),
        C(8, "build_id", "string", required=True),
    ),
    sort=("customer_id", "record_id"),
    layout_rationale="unpartitioned, sorted by customer_id: rebuilt per identity run; read whole to resume.",
)

CUSTOMER_METRICS = TableDef(
    layer=Layer.GOLD,
    name="customer_metrics",
    doc="Order and activity metrics per golden customer, overall and per channel.",
    columns=(
        C(1, "customer_id", "string", required=True),
        C(2, "order_count", "int", required=True),
        C(3, "lifetime_value", MONEY, required=True),
        C(4, "average_order_value", MONEY),
        C(5, "first_order_ts", "timestamptz"),
        C(6, "last_order_ts", "timestamptz"),
        C(7, "web_order_count", "int", required=True),
        C(8, "web_value", MONEY, required=True),
        C(9, "pos_order_count", "int", required=True),
        C(10, "pos_value", MONEY, required=True),
        C(11, "marketplace_order_count", "int", required=True),
        C(12, "marketplace_value", MONEY, required=True),
        C(13, "event_count", "int", required=True),
        C(14, "last_event_ts", "timestamptz"),
        C(15, "build_id", "string", required=True),
    ),
    key=("customer_id",),
    sort=("customer_id",),
    layout_rationale="unpartitioned: one row per customer, rebuilt with the identity run.",
)

CUSTOMER_ID_CHANGES = TableDef(
    layer=Layer.GOLD,
    name="customer_id_changes",
    doc="Customer ids that stopped naming their whole cluster at a build: merged into, or split across, others.",
    columns=(
        C(1, "build_id", "string", required=True, doc="the build that made the change"),
        C(2, "old_customer_id", "string", required=True),
        C(3, "new_customer_id", "string", required=True, doc="where (some of) its records are now"),
        C(4, "change", "string", required=True, doc="merged or split"),
        C(5, "records", "long", required=True, doc="how many of its records moved there"),
        C(6, "changed_at", "timestamptz", required=True),
    ),
    sort=("old_customer_id",),
    layout_rationale="unpartitioned, appended per build: small, read whole to answer for an old id.",
)

RISK_SCORES = TableDef(
    layer=Layer.GOLD,
    name="risk_scores",
    doc=(
        "Risk scores with history: every scoring of a gold build appends one row per customer, with the reason"
        " codes behind the score and the feature values they read."
    ),
    columns=(
        C(1, "customer_id", "string", required=True),
        C(2, "score", "int", required=True, doc="0-100: the fired reason codes' points, capped at 100"),
        C(3, "reasons", "string", required=True, doc="JSON list of {code, contribution, detail}, largest first"),
        C(4, "features", "string", required=True, doc="JSON object: every feature's value for this customer"),
        C(5, "build_id", "string", required=True, doc="the gold build whose customers and links were scored"),
        C(6, "scored_at", "timestamptz", required=True),
    ),
    partition=(PartitionField("scored_at", "day"),),
    sort=("customer_id",),
    immutable=("scored_at",),
    layout_rationale=(
        "day(scored_at), appended per scoring and never rewritten: a build's rows are one file in its day (each "
        "file holds one build_id, so a read of one build prunes by its bounds), sorted by customer_id so a "
        "customer's history reads one row group per day; retention and compaction of stream rescoring go a day "
        "at a time, as events do. month() would put a month of builds in one partition and prune less."
    ),
)

GOLD_TABLES = (CUSTOMERS, IDENTITY_LINKS, IDENTITY_EVIDENCE, CUSTOMER_METRICS, CUSTOMER_ID_CHANGES, RISK_SCORES)
