"""Roster: seat holders (附件1) and territory grants.

Revision ID: 0200_roster
Revises: 0001_core
"""
from alembic import op
import sqlalchemy as sa

from storage.models.base import UTCDateTime

revision = "0200_roster"
down_revision = "0001_core"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "roster_members",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("province", sa.String(40), nullable=False),
        sa.Column("city", sa.String(40), nullable=False),
        sa.Column("county", sa.String(40), nullable=True),
        sa.Column("territory", sa.String(200), nullable=False),
        sa.Column("name", sa.String(60), nullable=False),
        sa.Column("mobile", sa.String(20), nullable=False),
        sa.Column("account", sa.String(64), nullable=True),
        sa.Column("values", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("user_id", sa.String(160), nullable=True),
        sa.Column("person_key", sa.String(40), nullable=True),
        sa.Column("account_key", sa.String(64), nullable=True),
        sa.Column("created_by", sa.String(160), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("decided_by", sa.String(160), nullable=True),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_roster_members"),
        sa.UniqueConstraint("person_key", name="uq_roster_members_person_key"),
        sa.UniqueConstraint("account_key", name="uq_roster_members_account_key"),
    )
    op.create_index("ix_roster_members_user_id", "roster_members", ["user_id"])
    op.create_index("ix_roster_members_city_status", "roster_members", ["city", "status"])
    op.create_index("ix_roster_members_territory", "roster_members", ["territory"])
    op.create_table(
        "territory_grants",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.String(160), nullable=False),
        sa.Column("user_name", sa.String(100), nullable=False),
        sa.Column("territory", sa.String(200), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("granted_by", sa.String(160), nullable=False),
        sa.Column("granted_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_territory_grants"),
        sa.UniqueConstraint("user_id", "territory", name="uq_territory_grants_user_id"),
    )
    op.create_index("ix_territory_grants_user_id", "territory_grants", ["user_id"])
    op.create_index("ix_territory_grants_territory", "territory_grants", ["territory"])


def downgrade() -> None:
    op.drop_table("territory_grants")
    op.drop_table("roster_members")
