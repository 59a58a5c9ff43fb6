"""Scores at province scale: totals indexed by (scoring year, year points) for /排行; per-county counts
of teachers by year points for the county shares (filled from the existing totals).

Revision ID: 0700_scores_perf
Revises: 0100_scores (the index is on a table of that revision)
"""
import sqlalchemy as sa
from alembic import op

revision = "0700_scores_perf"
down_revision = "0100_scores"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_score_totals_year_points", "score_totals", ["year_start", "y"])
    op.create_table(
        "score_county_points",
        sa.Column("year_start", sa.Date(), nullable=False),
        sa.Column("city", sa.String(30), nullable=False),
        sa.Column("county", sa.String(30), nullable=False),
        sa.Column("points", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("teachers", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("year_start", "city", "county", "points", name="pk_score_county_points"),
    )
    op.execute("INSERT INTO score_county_points (year_start, city, county, points, teachers) "
               "SELECT s.year_start, t.city, t.county, s.y, count(*) FROM score_totals s "
               "JOIN score_teachers t ON t.id = s.teacher_id GROUP BY s.year_start, t.city, t.county, s.y")


def downgrade() -> None:
    op.drop_table("score_county_points")
    op.drop_index("ix_score_totals_year_points", table_name="score_totals")
