"""What the fake DingTalk saw: :class:`Record` and the :class:`RecordBook` that tests wait on.

Every frame pushed to the bot, every ACK, webhook reply and OpenAPI call becomes a record.
Tests wait for records (:meth:`RecordBook.wait_for`, :meth:`RecordBook.wait_reply`) instead of
sleeping. The book also attributes proactive sends to the message they answer: a "reply kind"
record landing in a conversation answers the oldest unanswered message (or card button press)
there that is younger than the attribution window.

Record kinds:

``open_connection``  POST /v1.0/gateway/connections/open accepted (payload: request body)
``connected``        a bot WebSocket was accepted (payload: connectionId, ticket)
``disconnected``     a bot WebSocket ended (payload: connectionId, close code)
``message``          a chat message pushed to the bot (payload: the callback ``data`` dict)
``card_callback``    a card button press pushed to the bot (payload: the callback ``data`` dict)
``push``             any other frame pushed to the bot (ping, disconnect, raw frames)
``ack``              a frame received from the bot (payload: the frame; ``msg_id``/``conversation_id``
                     are those of the message or press it acknowledges, ``None`` for SYSTEM frames)
``webhook_reply``    an accepted POST to a session webhook (payload: the body; ``msg_id`` is the
                     message whose session webhook was used)
``token``            an access token was issued
``group_send``       an accepted POST /v1.0/robot/groupMessages/send (payload: body)
``oto_send``         an accepted POST /v1.0/robot/oToMessages/batchSend (payload: body; ``response``
                     tells who was flow-controlled or invalid)
``card_create``, ``card_deliver``, ``card_update``   card-instance calls (see :mod:`simulator.cards`)
``card``             a legacy robot interactive-card call (accepted, not rendered)
``file_download``    POST /v1.0/robot/messageFiles/download
``rejected``         any refused request (payload: ``api``, ``status``, ``error``, ``request``)

A proactive send (``group_send``/``oto_send``/``card_deliver``/``card_update``) gets the
``msg_id`` of the oldest unanswered message or card press (less than ``attribution_window``
seconds old) in the conversation it goes to (for ``oto_send``: the 1:1 chats of its recipients),
so ``wait_reply`` also finds answers that fell back to the OpenAPI or came as a card.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("simulator")

# Records that answer a message: webhook replies, proactive sends, card deliveries and updates.
REPLY_KINDS = ("webhook_reply", "group_send", "oto_send", "card_deliver", "card_update")
# Records the bot is expected to answer (chat messages and card button presses).
ASK_KINDS = ("message", "card_callback")
# How long a reply guessed for a message waits for that message's own webhook reply (wait_reply).
GUESS_GRACE = 0.2


@dataclass(frozen=True)
class Record:
    seq: int
    kind: str
    at: float  # time.time()
    payload: Any
    conversation_id: str | None = None
    msg_id: str | None = None
    response: Any = None  # what the fake answered (OpenAPI / webhook), when useful

    @property
    def data(self) -> Any:
        """``payload["data"]`` decoded when it is a JSON string (ACK frames, pushed frames)."""
        if isinstance(self.payload, dict):
            value = self.payload.get("data")
            if isinstance(value, str):
                try:
                    return json.loads(value)
                except ValueError:
                    return value
            return value
        return None

    def summary(self) -> str:
        bits = [f"#{self.seq} {self.kind}"]
        if self.conversation_id:
            bits.append(f"conv={self.conversation_id}")
        if self.msg_id:
            bits.append(f"msg={self.msg_id}")
        text = json.dumps(self.payload, ensure_ascii=False, default=str)
        bits.append(text if len(text) <= 160 else text[:157] + "...")
        return " ".join(bits)


class RecordBook:
    """The records, oldest first, and the attribution of replies to messages. Thread-safe.

    ``cond`` is the one lock (an RLock condition) of the whole fake server: other parts take it
    for their own state so that a predicate passed to :meth:`wait_for` sees a consistent view.
    """

    def __init__(self, attribution_window: float = 600.0, describe: Callable[[], str] = lambda: "") -> None:
        self.cond = threading.Condition(threading.RLock())
        self.attribution_window = attribution_window
        self.describe = describe
        self._records: list[Record] = []
        self._seq = 0
        self._replies: dict[str, list[Record]] = {}
        self._unanswered: dict[str, list[tuple[str, float]]] = {}

    def add(
        self,
        kind: str,
        payload: Any,
        *,
        conversation_id: str | None = None,
        msg_id: str | None = None,
        response: Any = None,
    ) -> Record:
        with self.cond:
            self._seq += 1
            rec = Record(self._seq, kind, time.time(), payload, conversation_id, msg_id, response)
            self._records.append(rec)
            if kind in REPLY_KINDS and msg_id:
                self._replies.setdefault(msg_id, []).append(rec)
                if conversation_id and conversation_id in self._unanswered:
                    self._unanswered[conversation_id] = [p for p in self._unanswered[conversation_id] if p[0] != msg_id]
            elif kind in ASK_KINDS and msg_id and conversation_id:
                pending = self._unanswered.setdefault(conversation_id, [])
                if msg_id not in self._replies and all(p[0] != msg_id for p in pending):
                    pending.append((msg_id, time.monotonic()))
            self.cond.notify_all()
        log.debug("record %s", rec.summary())
        return rec

    def attribute(self, conversation_ids: Iterable[str]) -> str | None:
        """The oldest recent unanswered message in these conversations (removed from the pending list)."""
        limit = time.monotonic() - self.attribution_window
        best: tuple[float, str, str] | None = None
        with self.cond:
            for cid in conversation_ids:
                pending = [p for p in self._unanswered.get(cid, []) if p[1] >= limit]
                self._unanswered[cid] = pending
                if pending and (best is None or pending[0][1] < best[0]):
                    best = (pending[0][1], pending[0][0], cid)
            if best is None:
                return None
            self._unanswered[best[2]] = [p for p in self._unanswered[best[2]] if p[0] != best[1]]
            return best[1]

    def notify(self) -> None:
        """Wake the waiters (their predicates may look at server state that just changed)."""
        with self.cond:
            self.cond.notify_all()

    @property
    def records(self) -> list[Record]:
        with self.cond:
            return list(self._records)

    def since(self, seq: int) -> tuple[list[Record], int]:
        """The records after ``seq`` and the newest seq."""
        with self.cond:
            return [r for r in self._records if r.seq > seq], self._seq

    @property
    def last_seq(self) -> int:
        with self.cond:
            return self._seq

    def recent(self, n: int = 15) -> str:
        with self.cond:
            recs = self._records[-n:]
            state = self.describe()
        lines = "\n".join("  " + r.summary() for r in recs) or "  (no records)"
        return f"{state}; most recent records:\n{lines}"

    def wait_for(self, predicate: Callable[[Record], bool], timeout: float = 5.0, *, since: int = 0) -> Record:
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for rec in self._records:
                    if rec.seq <= since:
                        continue
                    try:
                        if predicate(rec):
                            return rec
                    except Exception:
                        continue
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(
                        f"no record matched {getattr(predicate, '__name__', predicate)} "
                        f"within {timeout} s. {self.recent()}"
                    )
                self.cond.wait(remaining)

    def wait_reply(self, msg_id: str, timeout: float = 5.0) -> Record:
        """The reply to ``msg_id``: its webhook reply if it has one. A proactive send is only guessed to be
        a reply (the oldest unanswered message of its conversation, :meth:`attribute`): one the bot sent
        for something else (a grant notice, a card) may arrive just before the real answer, so a guessed
        reply is returned only when no webhook reply follows within ``GUESS_GRACE`` seconds."""
        deadline = time.monotonic() + timeout
        guessed_at: float | None = None
        with self.cond:
            while True:
                replies = self._replies.get(msg_id, [])
                direct = next((r for r in replies if r.kind == "webhook_reply"), None)
                if direct is not None:
                    return direct
                now = time.monotonic()
                if replies and guessed_at is None:
                    guessed_at = now
                if guessed_at is not None and now - guessed_at >= GUESS_GRACE:
                    return replies[0]
                if now >= deadline:
                    if replies:
                        return replies[0]
                    raise TimeoutError(f"no reply to message {msg_id!r} within {timeout} s. {self.recent()}")
                wait = deadline - now if guessed_at is None else min(deadline - now, guessed_at + GUESS_GRACE - now)
                self.cond.wait(wait)

    def replies_to(self, msg_id: str) -> list[Record]:
        with self.cond:
            return list(self._replies.get(msg_id, []))

    def clear(self) -> None:
        with self.cond:
            self._records.clear()
            self._replies.clear()
            self._unanswered.clear()


class RecordQueries:
    """:class:`simulator.server.FakeDingTalk`'s methods over its :class:`RecordBook` (thread-safe)."""

    book: RecordBook

    @property
    def records(self) -> list[Record]:
        """A snapshot of all records, oldest first."""
        return self.book.records

    @property
    def last_seq(self) -> int:
        """The seq of the newest record (pass it as ``since=`` to wait only for later ones)."""
        return self.book.last_seq

    def wait_for(self, predicate: Callable[[Record], bool], timeout: float = 5.0, *, since: int = 0) -> Record:
        """Block until a record with ``seq > since`` (past or future) matches; return the first match.

        The predicate is re-evaluated over all records whenever a record is added, so it may
        also look at server state (e.g. ``sim.connections``). A predicate that raises counts
        as no match. Raises TimeoutError listing the most recent records.
        """
        return self.book.wait_for(predicate, timeout, since=since)

    async def awaits(
        self,
        predicate: Callable[[Record], bool],
        timeout: float = 5.0,
        *,
        since: int = 0,
    ) -> Record:
        """Async form of :meth:`wait_for` (runs it in a worker thread)."""
        return await asyncio.to_thread(self.wait_for, predicate, timeout, since=since)

    def wait_reply(self, msg_id: str, timeout: float = 5.0) -> Record:
        """The webhook reply, else the first proactive send or card delivery/update answering ``msg_id``
        (a message, or a card press from :meth:`press_card_button`); see :meth:`RecordBook.wait_reply`."""
        return self.book.wait_reply(msg_id, timeout)

    async def await_reply(self, msg_id: str, timeout: float = 5.0) -> Record:
        return await asyncio.to_thread(self.wait_reply, msg_id, timeout)

    def replies_to(self, msg_id: str) -> list[Record]:
        """Every reply answering message ``msg_id`` so far."""
        return self.book.replies_to(msg_id)

    def clear_records(self) -> None:
        """Forget all records (e.g. between benchmark rounds). Sessions, tickets, cards stay valid."""
        self.book.clear()

    @staticmethod
    def text_of(record: Record | dict[str, Any]) -> str:
        """The raw text of a reply: webhook bodies (text, markdown, actionCard, link, feedCard),
        OpenAPI sends (``msgParam`` of sampleText/sampleMarkdown/sampleActionCard*/sampleLink),
        card records (title, markdown, buttons) and pushed user messages."""
        from simulator.render import text_of

        return text_of(record)

    @staticmethod
    def read_text(record: Record | dict[str, Any]) -> str:
        """What a person reads: like :meth:`text_of` with DingTalk's markdown subset applied."""
        from simulator.render import read_text

        return read_text(record)
