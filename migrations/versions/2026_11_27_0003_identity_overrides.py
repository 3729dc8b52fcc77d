"""Manual identity overrides (must-link, cannot-link), applied on every identity build.

Reviewed by hand: one new table; times are plain DateTime holding UTC (schema.store.UTCDateTime);
a pair is stored once per rule (left < right: the service orders it).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 11:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "identity_overrides",
        sa.Column("rule", sa.String(length=16), nullable=False),
        sa.Column("left_record", sa.String(length=200), nullable=False),
        sa.Column("right_record", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("rule", "left_record", "right_record", name="uq_identity_overrides_rule_pair"),
    )


def downgrade() -> None:
    op.drop_table("identity_overrides")
