"""Migrations and models agree, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from storage.migrate import current_heads
from storage.models import Base


async def test_migrated_schema_matches_models(db, database_url):
    async with db.engine.connect() as conn:
        diff = await conn.run_sync(
            lambda c: compare_metadata(MigrationContext.configure(c, opts={"compare_type": True}), Base.metadata)
        )
    assert diff == [], diff
    applied, heads = await current_heads(database_url)
    assert applied and applied == heads
