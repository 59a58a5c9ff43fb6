"""The durable inbox replaces processed_messages: frames are stored before their ACK.

Revision ID: 0400_inbox
Revises: 0001_core
"""
from alembic import op
import sqlalchemy as sa

from storage.models.base import UTCDateTime

revision = "0400_inbox"
down_revision = "0001_core"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbox",
        sa.Column("msg_id", sa.String(160), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("handled_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("msg_id", name="pk_inbox"),
    )
    op.create_index("ix_inbox_received_at", "inbox", ["received_at"])
    op.create_index("ix_inbox_handled_at", "inbox", ["handled_at"])
    # Claims of messages already handled carry over as handled inbox rows (dedup across the upgrade).
    op.execute("INSERT INTO inbox (msg_id, received_at, data, handled_at) "
               "SELECT msg_id, received_at, '{}', received_at FROM processed_messages")
    op.drop_table("processed_messages")


def downgrade() -> None:
    op.create_table(
        "processed_messages",
        sa.Column("msg_id", sa.String(160), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("msg_id", name="pk_processed_messages"),
    )
    op.create_index("ix_processed_messages_received_at", "processed_messages", ["received_at"])
    op.execute("INSERT INTO processed_messages (msg_id, received_at) SELECT msg_id, received_at FROM inbox")
    op.drop_table("inbox")
