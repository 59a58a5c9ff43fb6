"""Submission contacts: the 附件1 / 附件3 header of each city and year (/报送信息).

Revision ID: 0600_ux
Revises: 0001_core
"""
from alembic import op
import sqlalchemy as sa

from storage.models.base import UTCDateTime

revision = "0600_ux"
down_revision = "0001_core"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "submission_contacts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("city", sa.String(200), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("contact", sa.String(60), nullable=False),
        sa.Column("phone", sa.String(40), nullable=False),
        sa.Column("mobile", sa.String(20), nullable=False),
        sa.Column("updated_by", sa.String(160), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_submission_contacts"),
        sa.UniqueConstraint("city", "year", name="uq_submission_contacts_city"),
    )


def downgrade() -> None:
    op.drop_table("submission_contacts")
