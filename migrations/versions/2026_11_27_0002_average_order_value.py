"""Serve the average order value computed with the metrics (rounded half up), not recomputed by the API.

Reviewed by hand: one nullable column; null while a customer has no orders.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 03:53:37.644522
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("serving_customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("average_order_value_cents", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("serving_customers", schema=None) as batch_op:
        batch_op.drop_column("average_order_value_cents")
