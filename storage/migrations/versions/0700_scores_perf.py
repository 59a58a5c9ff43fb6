"""Scores at province scale: totals indexed by (scoring year, year points) for /排行 and the county shares.

Revision ID: 0700_scores_perf
Revises: 0100_scores (the index is on a table of that revision)
"""
from alembic import op

revision = "0700_scores_perf"
down_revision = "0100_scores"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_score_totals_year_points", "score_totals", ["year_start", "y"])


def downgrade() -> None:
    op.drop_index("ix_score_totals_year_points", table_name="score_totals")
