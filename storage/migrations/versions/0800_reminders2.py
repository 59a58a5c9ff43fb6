"""Reminders as cards: the card (outTrackId) each delivery went out on, so a 收到 / 已完成 press
updates that card for the presser.

Revision ID: 0800_reminders2
Revises: 0300_reminders (the column is on a table of that revision)
"""
import sqlalchemy as sa
from alembic import op

revision = "0800_reminders2"
down_revision = "0300_reminders"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("reminder_deliveries") as batch:
        batch.add_column(sa.Column("card", sa.String(80), nullable=True))
    op.create_index("ix_reminder_deliveries_card", "reminder_deliveries", ["card"])


def downgrade() -> None:
    op.drop_index("ix_reminder_deliveries_card", table_name="reminder_deliveries")
    with op.batch_alter_table("reminder_deliveries") as batch:
        batch.drop_column("card")
