"""Serving store: the projection of the gold layer the API reads.

Reviewed by hand: times are plain DateTime columns holding UTC (schema.store.UTCDateTime
converts), money is integer cents; an identifier may lead to several customers (a household e-mail).

Revision ID: 0001
Revises:
Create Date: 2026-11-27 02:44:33.273111
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "serving_builds",
        sa.Column("build_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("customers", sa.Integer(), nullable=False),
        sa.Column("identifiers", sa.Integer(), nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("build_id"),
    )
    op.create_table(
        "serving_customers",
        sa.Column("customer_id", sa.String(length=32), nullable=False),
        sa.Column("first_name", sa.String(), nullable=True),
        sa.Column("last_name", sa.String(), nullable=True),
        sa.Column("email", sa.String(), nullable=True),
        sa.Column("phone", sa.String(), nullable=True),
        sa.Column("dob", sa.Date(), nullable=True),
        sa.Column("street", sa.String(), nullable=True),
        sa.Column("city", sa.String(), nullable=True),
        sa.Column("postcode", sa.String(), nullable=True),
        sa.Column("country", sa.String(), nullable=True),
        sa.Column("loyalty_id", sa.String(), nullable=True),
        sa.Column("lineage", sa.String(), nullable=True),
        sa.Column("record_count", sa.Integer(), nullable=False),
        sa.Column("first_seen", sa.DateTime(), nullable=True),
        sa.Column("last_seen", sa.DateTime(), nullable=True),
        sa.Column("order_count", sa.Integer(), nullable=False),
        sa.Column("lifetime_value_cents", sa.BigInteger(), nullable=False),
        sa.Column("web_order_count", sa.Integer(), nullable=False),
        sa.Column("web_value_cents", sa.BigInteger(), nullable=False),
        sa.Column("pos_order_count", sa.Integer(), nullable=False),
        sa.Column("pos_value_cents", sa.BigInteger(), nullable=False),
        sa.Column("marketplace_order_count", sa.Integer(), nullable=False),
        sa.Column("marketplace_value_cents", sa.BigInteger(), nullable=False),
        sa.Column("first_order_ts", sa.DateTime(), nullable=True),
        sa.Column("last_order_ts", sa.DateTime(), nullable=True),
        sa.Column("event_count", sa.Integer(), nullable=False),
        sa.Column("last_event_ts", sa.DateTime(), nullable=True),
        sa.Column("build_id", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("customer_id"),
    )
    op.create_table(
        "serving_identifiers",
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("value", sa.String(length=320), nullable=False),
        sa.Column("customer_id", sa.String(length=32), nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "value", "customer_id", name="uq_serving_identifiers_kind_value_customer"),
    )
    with op.batch_alter_table("serving_identifiers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_serving_identifiers_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index("ix_serving_identifiers_kind_value", ["kind", "value"], unique=False)

    op.create_table(
        "serving_orders",
        sa.Column("order_id", sa.String(length=96), nullable=False),
        sa.Column("customer_id", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("total_cents", sa.BigInteger(), nullable=False),
        sa.Column("item_count", sa.Integer(), nullable=True),
        sa.Column("store_id", sa.String(), nullable=True),
        sa.Column("order_ts", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("order_id"),
    )
    with op.batch_alter_table("serving_orders", schema=None) as batch_op:
        batch_op.create_index("ix_serving_orders_customer_ts", ["customer_id", "order_ts"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("serving_orders", schema=None) as batch_op:
        batch_op.drop_index("ix_serving_orders_customer_ts")

    op.drop_table("serving_orders")
    with op.batch_alter_table("serving_identifiers", schema=None) as batch_op:
        batch_op.drop_index("ix_serving_identifiers_kind_value")
        batch_op.drop_index(batch_op.f("ix_serving_identifiers_customer_id"))

    op.drop_table("serving_identifiers")
    op.drop_table("serving_customers")
    op.drop_table("serving_builds")
