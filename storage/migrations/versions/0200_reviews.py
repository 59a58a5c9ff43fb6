"""Resource review: calls, resources, tasks, corrections, leave, conflicts, feedback, previews, send keys.

Revision ID: 0200_reviews
Revises: 0001_core
"""
import sqlalchemy as sa
from alembic import op

from storage.models.base import UTCDateTime

revision = "0200_reviews"
down_revision = "0001_core"
branch_labels = None
depends_on = None


def _id(table: str) -> list:
    return [sa.Column("id", sa.Integer(), autoincrement=True, nullable=False)]


def upgrade() -> None:
    op.create_table(
        "review_calls", *_id("review_calls"),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("levels", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_review_calls"),
        sa.UniqueConstraint("name", name="uq_review_calls_name"),
    )
    op.create_table(
        "review_resources", *_id("review_resources"),
        sa.Column("external_id", sa.String(120), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("rtype", sa.String(40), nullable=False),
        sa.Column("category", sa.String(40), nullable=False),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("subject", sa.String(40), nullable=False),
        sa.Column("edition", sa.String(100), nullable=False),
        sa.Column("chapter", sa.String(200), nullable=False),
        sa.Column("link", sa.Text(), nullable=False),
        sa.Column("submitter_account", sa.String(64), nullable=False),
        sa.Column("submitter_name", sa.String(60), nullable=False),
        sa.Column("school", sa.String(120), nullable=False),
        sa.Column("county", sa.String(40), nullable=False),
        sa.Column("city", sa.String(40), nullable=False),
        sa.Column("level_index", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_review_resources"),
        sa.UniqueConstraint("external_id", name="uq_review_resources_external_id"),
    )
    op.create_index("ix_review_resources_call_id", "review_resources", ["call_id"])
    op.create_index("ix_review_resources_city_status", "review_resources", ["city", "status"])
    op.create_table(
        "review_tasks", *_id("review_tasks"),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("level_index", sa.Integer(), nullable=False),
        sa.Column("reviewer_id", sa.String(160), nullable=False),
        sa.Column("reviewer_name", sa.String(60), nullable=False),
        sa.Column("assigned_at", UTCDateTime(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("verdict", sa.String(8), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("done_at", UTCDateTime(), nullable=True),
        sa.Column("batch_key", sa.String(80), nullable=True),
        sa.Column("card_id", sa.String(80), nullable=True),
        sa.Column("moved_to", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_review_tasks"),
    )
    for col in ("resource_id", "reviewer_id", "state", "batch_key", "card_id"):
        op.create_index(f"ix_review_tasks_{col}", "review_tasks", [col])
    op.create_table(
        "review_corrections", *_id("review_corrections"),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.Column("field", sa.String(20), nullable=False),
        sa.Column("before", sa.Text(), nullable=False),
        sa.Column("after", sa.Text(), nullable=False),
        sa.Column("by", sa.String(160), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_review_corrections"),
    )
    op.create_index("ix_review_corrections_resource_id", "review_corrections", ["resource_id"])
    op.create_table(
        "review_leave", *_id("review_leave"),
        sa.Column("user_id", sa.String(160), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("end", sa.Date(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_review_leave"),
    )
    op.create_index("ix_review_leave_user_id", "review_leave", ["user_id"])
    op.create_table(
        "review_conflicts", *_id("review_conflicts"),
        sa.Column("user_id", sa.String(160), nullable=False),
        sa.Column("value", sa.String(160), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_review_conflicts"),
        sa.UniqueConstraint("user_id", "value", name="uq_review_conflicts_user_id"),
    )
    op.create_index("ix_review_conflicts_user_id", "review_conflicts", ["user_id"])
    op.create_table(
        "review_feedback", *_id("review_feedback"),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("rating", sa.Float(), nullable=True),
        sa.Column("positive", sa.Boolean(), nullable=True),
        sa.Column("clicks", sa.Integer(), nullable=False),
        sa.Column("downloads", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_review_feedback"),
    )
    op.create_index("ix_review_feedback_resource_id", "review_feedback", ["resource_id"])
    op.create_table(
        "review_previews",
        sa.Column("user_id", sa.String(160), nullable=False),
        sa.Column("scope", sa.JSON(), nullable=False),
        sa.Column("fingerprint", sa.String(80), nullable=False),
        sa.Column("plan", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name="pk_review_previews"),
    )
    op.create_table(
        "review_sends",
        sa.Column("key", sa.String(160), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_review_sends"),
    )


def downgrade() -> None:
    for t in ("review_sends", "review_previews", "review_feedback", "review_conflicts", "review_leave",
              "review_corrections", "review_tasks", "review_resources", "review_calls"):
        op.drop_table(t)
