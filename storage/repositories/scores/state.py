"""Each teacher's cap and streak state between ingestion batches, held by one process.

An entry says: "every stored event of this teacher is at or before ``frontier`` (epoch seconds),
and the engine, having evaluated them in (time, key) order, was left in this state". A new event
after the frontier then continues from the state: no stored event is read back. Anything else (an
event at or before the frontier, a teacher without an entry while the cache is not complete) goes
through the window path, which reads the teacher's stored events from the engine's lookback and
leaves a fresh entry behind.

Validity: the cache belongs to the database generation it last wrote (``score_ingest_state``); a
batch from another instance, a rebuild or a failed transaction makes it start over. ``complete``:
every teacher with stored events has an entry (true when the cache started on an empty events
table and nothing was evicted), so a teacher without one has no stored events.

Memory: one ``bytes`` per teacher (the frontier and the slots of the engine state as 32-bit
integers: 4 * (1 + 2 * caps + 2 * streak rules) bytes, 148 bytes for the default table, plus
the object and the dictionary slot: about 250 bytes a teacher, ~150 MB at 600,000 teachers; bench/
scores.py prints the measured size). ``max_teachers`` bounds it: past it the least recently
updated half is dropped and the cache is no longer complete.
"""

from __future__ import annotations

import sys
from struct import Struct

from domain.scores import Engine

_EPOCH_BASE = 946_684_800  # 2000-01-01: the frontier is stored as seconds after it (int32 until 2068)
_FIXED_FROM = 725_846_400  # engine: fixed zones have no transition after 1993-01-01


class StateLayout:
    """An engine state (``Engine.new_state()``: a flat list of ints and the saved counts) as bytes."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.struct = Struct(f"<{1 + engine.state_size}i")
        # in a zone without transitions, periods only move forward in (time, key) order: the counts of a
        # period left behind (``saved``) are never looked at again
        self.forward_only = engine.clock.fixed is not None

    def encode(self, frontier: int, state: tuple) -> bytes | None:
        """None when the state cannot be stored compactly (a zone with transitions: a period may be
        left and re-entered around a change at midnight)."""
        slots, saved = state
        if saved and not (self.forward_only and frontier >= _FIXED_FROM):
            return None
        return self.struct.pack(frontier - _EPOCH_BASE, *slots)

    def decode(self, blob: bytes) -> tuple[int, tuple]:
        """(frontier epoch, engine state) of an entry."""
        v = self.struct.unpack(blob)
        return v[0] + _EPOCH_BASE, (list(v[1:]), {})


class StateCache:
    """Per-teacher engine state after the teacher's last stored event (see the module doc)."""

    def __init__(self, max_teachers: int = 700_000) -> None:
        self.max_teachers = max_teachers
        self.generation: int | None = None
        self.complete = False
        self.layout: StateLayout | None = None
        self._entries: dict[int, bytes] = {}

    def clear(self) -> None:
        self.generation = None
        self.complete = False
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def start(self, generation: int, engine: Engine, events_empty: bool) -> None:
        """Called under the ingestion lock: keep the entries only if they belong to this generation
        and this rule set; an empty events table makes a fresh cache complete."""
        if self.generation != generation or self.layout is None or self.layout.engine is not engine:
            self.clear()
            self.layout = StateLayout(engine)
            self.generation = generation
            self.complete = events_empty

    def get(self, teacher_id: int) -> tuple[int, tuple] | None:
        blob = self._entries.get(teacher_id)
        if blob is None or self.layout is None:
            return None
        return self.layout.decode(blob)

    def commit(self, generation: int, updates: dict[int, bytes | None]) -> None:
        """After the batch's transaction committed: its new entries (None: forget the teacher)."""
        entries = self._entries
        for tid, blob in updates.items():
            entries.pop(tid, None)  # re-inserted at the end: the dict's order is recency
            if blob is None:
                self.complete = False
            else:
                entries[tid] = blob
        self.generation = generation
        if len(entries) > self.max_teachers:
            for tid in list(entries)[: len(entries) // 2]:
                del entries[tid]
            self.complete = False

    def nbytes(self) -> int:
        """Memory held by the entries (objects, keys and the table itself)."""
        e = self._entries
        return sys.getsizeof(e) + sum(sys.getsizeof(k) + sys.getsizeof(v) for k, v in e.items())

    def encode(self, frontier: int, state: tuple) -> bytes | None:
        assert self.layout is not None
        return self.layout.encode(frontier, state)
