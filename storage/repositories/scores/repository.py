"""ScoreRepository: ingestion and reads of activity scores on one unit of work's session."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.scores import Engine
from storage.models.scores import ScoreIngestState

from .bulk import Bulk
from .ingest import ingest_batch, rebuild_totals
from .queries import ScoreQueries
from .state import StateCache
from .teachers import TeacherRepository
from .values import IngestReport


class IngestState:
    """The one row of score_ingest_state: a generation bumped by every ingestion (process caches
    check it) and the latest event time stored."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def read(self) -> tuple[int, int]:
        row = await self.session.get(ScoreIngestState, 1, populate_existing=True)
        if row is None:
            self.session.add(ScoreIngestState(id=1, generation=0, max_epoch=0))
            await self.session.flush()
            return 0, 0
        return row.generation, row.max_epoch

    async def bump(self, generation: int, max_epoch: int) -> None:
        await self.session.execute(
            update(ScoreIngestState).where(ScoreIngestState.id == 1).values(generation=generation, max_epoch=max_epoch)
        )


class ScoreRepository(ScoreQueries):
    TOTALS_CHUNK = 50_000  # teachers per set of totals statements

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.bulk = Bulk(session, self.TOTALS_CHUNK)

    async def ingest(
        self,
        items: Sequence[Any],
        engine: Engine,
        now: datetime,
        *,
        teacher_cache: dict[str, int] | None = None,
        cache: StateCache | None = None,
    ) -> tuple[IngestReport, Callable[[], None]]:
        """Validate, store and score one batch; valid items are kept, invalid ones reported.

        Returns (report, after_commit): call ``after_commit()`` once the unit of work has committed
        (the cache takes the batch's states); if the transaction fails, call ``cache.clear()``."""
        teachers = TeacherRepository(self.session)

        async def resolve(accounts: set[str]) -> dict[str, int]:
            return await teachers.ids_for(accounts, teacher_cache)

        return await ingest_batch(
            self.bulk,
            items,
            engine,
            now,
            cache if cache is not None else StateCache(),
            resolve,
            IngestState(self.session),
        )

    async def rebuild_totals(self, engine: Engine, *, rows_per_pass: int = 400_000) -> int:
        """Recompute every teacher's totals from the stored events (after a rule-set change)."""
        return await rebuild_totals(self.bulk, engine, IngestState(self.session), rows_per_pass)
