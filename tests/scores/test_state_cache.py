"""The per-teacher cap/streak state kept between batches: in-order batches read nothing back, anything
else (earlier events, evicted or foreign state) is read back, and every way gives the full recompute."""

from __future__ import annotations

import random

import pytest

from domain.scores import default_rules
from handlers.scores.service import ScoresRuntime, ingest
from storage.repositories.scores import ScoreRepository, StateCache
from storage.repositories.scores import ingest as ingest_module
from storage.repositories.scores.state import StateLayout
from tests.scores.test_storage import NOW, _rebuilt, _setup, _totals, year_items


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Teachers read back per call of the window path."""
    seen: list[int] = []
    real = ingest_module.load_since

    async def counting(bulk, starts):  # type: ignore[no-untyped-def]
        if starts:
            seen.append(len(starts))
        return await real(bulk, starts)

    monkeypatch.setattr(ingest_module, "load_since", counting)
    return seen


async def test_in_order_batches_continue_the_cached_state(db, reads: list[int]) -> None:
    await _setup(db)
    runtime = ScoresRuntime()
    items = sorted(year_items(41, 800), key=lambda x: x["time"])
    for i in range(0, len(items), 100):
        rep = await ingest(db, runtime, items[i : i + 100], NOW)
        assert rep.accepted == len(items[i : i + 100]) and not rep.rejected
    assert reads == []  # nothing was read back
    assert runtime.windows.complete and len(runtime.windows) == 6
    assert await _totals(db) == await _rebuilt(db, runtime.engine)


async def test_earlier_events_evicted_and_foreign_state_are_read_back(db, reads: list[int]) -> None:
    await _setup(db)
    runtime = ScoresRuntime()
    runtime.windows = StateCache(max_teachers=3)  # 6 teachers: eviction happens
    items = year_items(43, 900)
    forward = sorted(items[:600], key=lambda x: x["time"])
    late = items[600:]  # all over the year: earlier than the frontiers
    for i in range(0, len(forward), 150):
        await ingest(db, runtime, forward[i : i + 150], NOW)
    assert not runtime.windows.complete and reads  # evicted teachers were read back
    reads.clear()
    rep = await ingest(db, runtime, late + forward[:50], NOW)  # with duplicates of stored ones
    assert (rep.accepted, rep.duplicates) == (len(late), 50)
    assert reads and reads[0] > 0
    other = ScoresRuntime()  # another process: its cache is not this one's
    await ingest(db, other, [dict(items[0], event_id="another-instance")], NOW)
    before = len(reads)
    await ingest(db, runtime, [dict(items[1], event_id="back-here")], NOW)
    assert runtime.windows.generation is not None and len(reads) == before + 1
    assert await _totals(db) == await _rebuilt(db, runtime.engine)


def test_state_layout_round_trip_and_size() -> None:
    from domain.scores import Engine

    engine = Engine(default_rules())
    layout = StateLayout(engine)
    state = engine.new_state()
    rnd = random.Random(5)
    rows = sorted(
        (1_770_000_000 + rnd.randrange(0, 90 * 86400), f"k{i}", rnd.choice(sorted(engine.by_action)), None)
        for i in range(300)
    )
    first = engine.evaluate(rows[:200], deduped=True, state=state)
    blob = layout.encode(rows[199][0], state)
    assert blob is not None and len(blob) <= 4 * (1 + 2 * 17 + 2 * 1) + 8
    frontier, again = layout.decode(blob)
    assert frontier == rows[199][0]
    # continuing from the decoded state equals continuing from the live one, equals one evaluation
    a = engine.evaluate(rows[200:], deduped=True, state=again).occ
    b = engine.evaluate(rows[200:], deduped=True, state=state).occ
    assert a == b == engine.evaluate(rows, deduped=True).occ[len(first.occ) :]
    cache = StateCache()
    cache.start(1, engine, events_empty=True)
    cache.commit(2, {tid: blob for tid in range(1000)})
    assert 150 < cache.nbytes() / 1000 < 400  # bytes a teacher (docs/scaling.md, the module doc)


async def test_window_path_alone_gives_the_full_recompute(db) -> None:
    """Deliveries scored with a fresh cache every batch (the window path only) give the full recompute."""
    await _setup(db)
    items = sorted(year_items(47, 500), key=lambda x: x["time"])
    runtime = ScoresRuntime()
    for i in range(0, len(items), 60):
        runtime.windows.clear()
        await ingest(db, runtime, items[i : i + 60], NOW)
    windowed = await _totals(db)
    async with db.unit_of_work() as uow:
        assert await uow.repo(ScoreRepository).rebuild_totals(runtime.engine) == 6
    assert await _totals(db) == windowed
