"""Privacy requests, suppressions of erased subjects, and the append-only ledger of receipts.

Reviewed by hand: three new tables. Requests are found by (kind, subject hash) for idempotency;
suppressions are keyed by (kind, salted hash); the ledger's rows chain by hash and triggers refuse
UPDATE and DELETE on it, on SQLite and PostgreSQL alike, so a receipt once written stays as it was.
Times are plain DateTime holding UTC (schema.store.UTCDateTime).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 21:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

APPEND_ONLY = "the privacy ledger is append-only"


def upgrade() -> None:
    op.create_table(
        "privacy_requests",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("subject_hash", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("error", sa.String(length=1000), nullable=True),
        sa.Column("receipt", sa.Text(), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("step", sa.String(length=16), nullable=True),
        sa.Column("pending", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_privacy_requests_subject", "privacy_requests", ["kind", "subject_hash"])
    op.create_table(
        "privacy_suppressions",
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("value_hash", sa.String(length=64), nullable=False),
        sa.Column("request_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "value_hash"),
    )
    op.create_table(
        "privacy_ledger",
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("subject_hash", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("receipt", sa.Text(), nullable=False),
        sa.Column("previous_hash", sa.String(length=64), nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("entry_hash"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION privacy_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN RAISE EXCEPTION '{APPEND_ONLY}'; END $$"
        )
        op.execute(
            "CREATE TRIGGER privacy_ledger_append_only BEFORE UPDATE OR DELETE ON privacy_ledger "
            "FOR EACH ROW EXECUTE FUNCTION privacy_ledger_append_only()"
        )
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER privacy_ledger_no_{action.lower()} BEFORE {action} ON privacy_ledger "
                f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END"
            )


def downgrade() -> None:
    op.drop_table("privacy_ledger")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION privacy_ledger_append_only()")
    op.drop_table("privacy_suppressions")
    op.drop_index("ix_privacy_requests_subject", table_name="privacy_requests")
    op.drop_table("privacy_requests")
