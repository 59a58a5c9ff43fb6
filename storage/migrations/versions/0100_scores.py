"""Scores and annual evaluation: teachers, activity events, materialised totals, ingestion state, rule sets,
account links, evaluation reports and recommendations (附件3).

Revision ID: 0100_scores
Revises: 0001_core
"""
from alembic import op
import sqlalchemy as sa

from storage.models.base import UTCDateTime

revision = "0100_scores"
down_revision = "0001_core"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "score_teachers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account", sa.String(64), nullable=False),
        sa.Column("name", sa.String(50), nullable=False),
        sa.Column("school", sa.String(100), nullable=False),
        sa.Column("city", sa.String(30), nullable=False),
        sa.Column("county", sa.String(30), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_score_teachers"),
        sa.UniqueConstraint("account", name="uq_score_teachers_account"),
    )
    op.create_index("ix_score_teachers_name", "score_teachers", ["name"])
    op.create_index("ix_score_teachers_city_county", "score_teachers", ["city", "county"])
    op.create_table(
        "score_events",
        sa.Column("bucket", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("teacher_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("event_key", sa.String(160), nullable=False),
        sa.Column("action", sa.String(48), nullable=False),
        sa.Column("at_epoch", sa.BigInteger(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("bucket", "teacher_id", "event_key", name="pk_score_events"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "score_totals",
        sa.Column("year_start", sa.Date(), nullable=False),
        sa.Column("teacher_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("y", sa.Integer(), server_default="0", nullable=False),
        *[sa.Column(f"m{i}", sa.Integer(), server_default="0", nullable=False) for i in range(13)],
        *[sa.Column(f"w{i}", sa.Integer(), server_default="0", nullable=False) for i in range(54)],
        sa.PrimaryKeyConstraint("year_start", "teacher_id", name="pk_score_totals"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "score_ingest_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.Column("max_epoch", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_score_ingest_state"),
    )
    op.create_table(
        "score_rulesets",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("loaded_by", sa.String(160), nullable=False),
        sa.Column("loaded_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_score_rulesets"),
    )
    op.create_table(
        "score_account_links",
        sa.Column("user_id", sa.String(160), nullable=False),
        sa.Column("account", sa.String(64), nullable=False),
        sa.Column("linked_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name="pk_score_account_links"),
    )
    op.create_index("ix_score_account_links_account", "score_account_links", ["account"])
    op.create_table(
        "eval_reports",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(160), nullable=False),
        sa.Column("member_name", sa.String(50), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("territory", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("submitted_at", UTCDateTime(), nullable=False),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.Column("decided_by", sa.String(160), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_eval_reports"),
    )
    op.create_index("ix_eval_reports_user_year", "eval_reports", ["user_id", "year"])
    op.create_index("ix_eval_reports_territory_status", "eval_reports", ["territory", "status"])
    op.create_table(
        "eval_recommendations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(160), nullable=False),
        sa.Column("member_name", sa.String(50), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("city", sa.String(30), nullable=False),
        sa.Column("territory", sa.String(100), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("row", sa.JSON(), nullable=False),
        sa.Column("marked_by", sa.String(160), nullable=False),
        sa.Column("marked_at", UTCDateTime(), nullable=False),
        sa.Column("withdrawn_at", UTCDateTime(), nullable=True),
        sa.Column("withdrawn_by", sa.String(160), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_eval_recommendations"),
    )
    op.create_index("ix_eval_recommendations_city_year", "eval_recommendations", ["city", "year"])


def downgrade() -> None:
    for table in ("eval_recommendations", "eval_reports", "score_account_links", "score_rulesets",
                  "score_ingest_state", "score_totals", "score_events", "score_teachers"):
        op.drop_table(table)
