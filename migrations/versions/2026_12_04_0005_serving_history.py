"""Serving tables behind the full API: id redirects, events, account history, identity graphs, stock,
risk scores, and each customer's profile document rendered at projection time.

Reviewed by hand: six new tables and one nullable text column (filled by the next projection;
until then the API answers from nothing older than it had), all rewritten whole by each projection;
indexes follow the reads (customer id then time for events and versions, customer id, record id and
identifier for graph edges, store then time for low-stock lists, score then id for the risk queue; the stock key itself
serves "product, store, as of");
times are plain DateTime holding UTC (schema.store.UTCDateTime); strings as in the models.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 19:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("serving_customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("document", sa.Text(), nullable=True))
    op.create_table(
        "serving_customer_redirects",
        sa.Column("old_customer_id", sa.String(length=32), nullable=False),
        sa.Column("new_customer_id", sa.String(length=32), nullable=False),
        sa.Column("change", sa.String(length=16), nullable=False),
        sa.Column("records", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("old_customer_id", "new_customer_id"),
    )
    op.create_table(
        "serving_customer_versions",
        sa.Column("customer_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("valid_from", sa.DateTime(), nullable=False),
        sa.Column("valid_to", sa.DateTime(), nullable=True),
        sa.Column("email", sa.String(), nullable=True),
        sa.Column("phone", sa.String(), nullable=True),
        sa.Column("first_name", sa.String(), nullable=True),
        sa.Column("last_name", sa.String(), nullable=True),
        sa.Column("loyalty_id", sa.String(), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "valid_from", name="uq_serving_customer_versions_user_from"),
    )
    op.create_index("ix_serving_customer_versions_customer", "serving_customer_versions", ["customer_id", "valid_from"])
    op.create_table(
        "serving_events",
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=32), nullable=False),
        sa.Column("event_type", sa.String(length=32), nullable=False),
        sa.Column("event_ts", sa.DateTime(), nullable=False),
        sa.Column("session_id", sa.String(length=64), nullable=True),
        sa.Column("device_id", sa.String(length=128), nullable=True),
        sa.Column("product_id", sa.String(length=64), nullable=True),
        sa.Column("order_id", sa.BigInteger(), nullable=True),
        sa.Column("page_url", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("event_id"),
    )
    op.create_index("ix_serving_events_customer_ts", "serving_events", ["customer_id", "event_ts"])
    op.create_table(
        "serving_identity_edges",
        sa.Column("customer_id", sa.String(length=32), nullable=False),
        sa.Column("edge", sa.String(length=16), nullable=False),
        sa.Column("record_id", sa.String(length=200), nullable=True),
        sa.Column("target_kind", sa.String(length=32), nullable=True),
        sa.Column("target_value", sa.String(), nullable=True),
        sa.Column("probability", sa.Float(), nullable=True),
        sa.Column("evidence", sa.String(), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_serving_identity_edges_customer_id", "serving_identity_edges", ["customer_id"])
    op.create_index("ix_serving_identity_edges_record", "serving_identity_edges", ["record_id", "edge"])
    op.create_index(
        "ix_serving_identity_edges_target", "serving_identity_edges", ["target_kind", "target_value", "edge"]
    )
    op.create_table(
        "serving_stock_levels",
        sa.Column("product_id", sa.String(length=64), nullable=False),
        sa.Column("store_id", sa.String(length=32), nullable=False),
        sa.Column("snapshot_ts", sa.DateTime(), nullable=False),
        sa.Column("on_hand", sa.Integer(), nullable=True),
        sa.Column("reserved", sa.Integer(), nullable=True),
        sa.Column("available", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("product_id", "store_id", "snapshot_ts"),
    )
    op.create_index("ix_serving_stock_levels_store_ts", "serving_stock_levels", ["store_id", "snapshot_ts"])
    op.create_table(
        "serving_risk",
        sa.Column("customer_id", sa.String(length=32), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("features", sa.Text(), nullable=False),
        sa.Column("scored_at", sa.DateTime(), nullable=False),
        sa.Column("build_id", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("customer_id"),
    )
    op.create_index("ix_serving_risk_score", "serving_risk", ["score", "customer_id"])


def downgrade() -> None:
    for table in (
        "serving_risk",
        "serving_stock_levels",
        "serving_identity_edges",
        "serving_events",
        "serving_customer_versions",
        "serving_customer_redirects",
    ):
        op.drop_table(table)
    with op.batch_alter_table("serving_customers", schema=None) as batch_op:
        batch_op.drop_column("document")
