"""Operational tables of the lakehouse."""

from __future__ import annotations

from schema.model import Column as C
from schema.model import Layer, PartitionField, TableDef

QUARANTINE_OPEN = "open"
QUARANTINE_REPLAYED = "replayed"

QUARANTINE = TableDef(
    layer=Layer.OPS,
    name="quarantine",
    doc="Records that could not be loaded, with the reason; nothing read is ever dropped silently.",
    columns=(
        C(1, "quarantine_id", "string", required=True),
        C(
            2,
            "source",
            "string",
            required=True,
            doc="e.g. file:orders.csv, postgres:public.orders, kafka:events",
        ),
        C(3, "entity", "string", required=True, doc="target table, e.g. orders"),
        C(4, "record_key", "string", pii=True, doc="the record's key when it could be read"),
        C(5, "payload", "string", pii=True, doc="the raw record as JSON"),
        C(
            6,
            "reason_code",
            "string",
            required=True,
            doc="e.g. invalid_type, missing_field, unknown_event_type",
        ),
        C(7, "column_name", "string"),
        C(8, "message", "string"),
        C(9, "batch_id", "string", required=True),
        C(10, "source_position", "string", doc="offset or watermark of the record in its source"),
        C(11, "quarantined_at", "timestamptz", required=True),
        C(12, "status", "string", required=True, doc="open, or replayed once a replay loaded the record"),
        C(13, "resolved_at", "timestamptz", doc="when a replay loaded the record"),
    ),
    key=("quarantine_id",),
    partition=(PartitionField("quarantined_at", "month"),),
    layout_rationale="month(quarantined_at): low volume; reviews and replays look at recent months.",
)

OPS_TABLES = (QUARANTINE,)
