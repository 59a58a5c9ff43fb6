"""Reminders: obligations, delivery ledger, acknowledgements, runs, scheduler lease, API-call counter,
and the outbox idempotency key.

Revision ID: 0300_reminders
Revises: 0001_core
"""
from alembic import op
import sqlalchemy as sa

from storage.models.base import UTCDateTime

revision = "0300_reminders"
down_revision = "0001_core"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reminder_items",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(80), nullable=False),
        sa.Column("source", sa.String(8), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("audience", sa.String(20), nullable=False),
        sa.Column("done_query", sa.String(60), nullable=False),
        sa.Column("territory", sa.String(200), nullable=True),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(160), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_reminder_items"),
        sa.UniqueConstraint("key", name="uq_reminder_items_key"),
    )
    op.create_table(
        "reminder_deliveries",
        sa.Column("obligation", sa.String(80), nullable=False),
        sa.Column("due", sa.Date(), nullable=False),
        sa.Column("step", sa.String(24), nullable=False),
        sa.Column("person", sa.String(160), nullable=False),
        sa.Column("run_day", sa.Date(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("obligation", "due", "step", "person", name="pk_reminder_deliveries"),
    )
    op.create_index("ix_reminder_deliveries_person", "reminder_deliveries", ["person", "run_day"])
    op.create_table(
        "reminder_acks",
        sa.Column("obligation", sa.String(80), nullable=False),
        sa.Column("due", sa.Date(), nullable=False),
        sa.Column("person", sa.String(160), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("obligation", "due", "person", name="pk_reminder_acks"),
    )
    op.create_table(
        "reminder_runs",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("ran_at", UTCDateTime(), nullable=False),
        sa.Column("holder", sa.String(80), nullable=False),
        sa.PrimaryKeyConstraint("day", name="pk_reminder_runs"),
    )
    op.create_table(
        "scheduler_leases",
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("holder", sa.String(80), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_scheduler_leases"),
    )
    op.create_table(
        "api_call_counts",
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("api", sa.String(40), nullable=False),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("month", "api", name="pk_api_call_counts"),
    )
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("dedup_key", sa.String(200), nullable=True))
    op.create_index("uq_outbox_dedup_key", "outbox", ["dedup_key"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_outbox_dedup_key", table_name="outbox")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("dedup_key")
    for t in ("api_call_counts", "scheduler_leases", "reminder_runs", "reminder_acks", "reminder_deliveries",
              "reminder_items"):
        op.drop_table(t)
