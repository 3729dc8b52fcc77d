"""API keys with scopes, stored hashed, managed with `c360 keys create|list|revoke`.

Reviewed by hand: one new table; keys are 256-bit random tokens, so a plain SHA-256 digest is
enough to make a leaked store useless (no password hashing needed); `key_hash` is unique, which
also indexes the per-request lookup; times are plain DateTime holding UTC (schema.store.UTCDateTime).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 18:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("scopes", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key_hash"),
    )


def downgrade() -> None:
    op.drop_table("api_keys")
