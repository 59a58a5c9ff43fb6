"""Base schools (基地校): the yearly list, space visits (monthly day masks), teacher spaces,
micro-course lessons and the November assessment.

Revision ID: 0500_base_schools
Revises: 0001_core
"""

import sqlalchemy as sa
from alembic import op

from storage.models.base import UTCDateTime

revision = "0500_base_schools"
down_revision = "0001_core"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "base_schools",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("city", sa.String(40), nullable=False),
        sa.Column("county", sa.String(40), nullable=True),
        sa.Column("territory", sa.String(200), nullable=False),
        sa.Column("subject", sa.String(60), nullable=False),
        sa.Column("space_id", sa.String(64), nullable=False),
        sa.Column("lead", sa.String(60), nullable=False),
        sa.Column("lead_user_id", sa.String(160), nullable=True),
        sa.Column("teachers", sa.Integer(), nullable=True),
        sa.Column("premium_spaces", sa.Integer(), nullable=False),
        sa.Column("featured_spaces", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_base_schools"),
        sa.UniqueConstraint("year", "name", name="uq_base_schools_year_name"),
        sa.UniqueConstraint("year", "space_id", name="uq_base_schools_year_space_id"),
    )
    op.create_index("ix_base_schools_space_id", "base_schools", ["space_id"])
    op.create_index("ix_base_schools_lead_user_id", "base_schools", ["lead_user_id"])
    op.create_table(
        "base_space_visits",
        sa.Column("month", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("space_id", sa.String(64), nullable=False),
        sa.Column("visitor", sa.String(64), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("month", "space_id", "visitor", name="pk_base_space_visits"),
    )
    op.create_table(
        "base_teacher_spaces",
        sa.Column("space_id", sa.String(64), nullable=False),
        sa.Column("account", sa.String(64), nullable=False),
        sa.Column("opened_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("space_id", "account", name="pk_base_teacher_spaces"),
    )
    op.create_table(
        "base_teacher_activity",
        sa.Column("space_id", sa.String(64), nullable=False),
        sa.Column("account", sa.String(64), nullable=False),
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("months", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("space_id", "account", "year", name="pk_base_teacher_activity"),
    )
    op.create_table(
        "base_lessons",
        sa.Column("space_id", sa.String(64), nullable=False),
        sa.Column("lesson", sa.String(128), nullable=False),
        sa.Column("published_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("space_id", "lesson", name="pk_base_lessons"),
    )
    op.create_table(
        "base_lesson_reports",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("lessons", sa.Integer(), nullable=False),
        sa.Column("reported_on", sa.Date(), nullable=False),
        sa.Column("reported_by", sa.String(160), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_base_lesson_reports"),
    )
    op.create_index("ix_base_lesson_reports_school_id", "base_lesson_reports", ["school_id"])
    op.create_table(
        "base_assessments",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("done_at", UTCDateTime(), nullable=False),
        sa.Column("ranking", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("year", name="pk_base_assessments"),
    )


def downgrade() -> None:
    for t in (
        "base_assessments",
        "base_lesson_reports",
        "base_lessons",
        "base_teacher_activity",
        "base_teacher_spaces",
        "base_space_visits",
        "base_schools",
    ):
        op.drop_table(t)
