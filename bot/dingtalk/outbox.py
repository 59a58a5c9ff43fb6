"""The outbox worker.

Everything the bot sends is written to the outbox first (replies too: ``bot.delivery``
posts a reply by its session webhook and marks it sent; when the webhook has expired or
refuses it, this worker sends it by OpenAPI). Sent by this worker, marked sent only when
DingTalk accepted it; throttling is retried later with backoff, never dropped. Several
instances share the table, but only one sends: the scheduler-lease holder (``may_send``), so
the pacing of 20 calls a second per API is the organisation's total, not per process. The
others' rows (replies whose webhook failed, their jobs' sends) wait for the holder's worker,
which polls every ``poll_seconds``; when the holder dies, the next holder sends within the
lease takeover (≤ 40 s). Rows are claimed with ``OutboxRepository.claim_due`` (disjoint).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from bot.clock import Clock
from bot.dingtalk.openapi import DingTalkAPI, SendError
from bot.metrics import Metrics
from bot.proactive import enqueue_reply
from bot.replies import Renderer, Reply
from storage.db import Database

log = logging.getLogger("bot.outbox")

MAX_TRANSIENT_ATTEMPTS = 30
MAX_ATTEMPTS = 8  # any send (throttled or not) is dead-lettered after this many tries
API_GROUP = "groupMessages/send"
API_OTO = "oToMessages/batchSend"
API_CARD = "card/instances"  # create and deliver an interactive card (≤ 20 people, one call)
API_CARD_UPDATE = "card/instances:put"


def backoff(attempts: int) -> timedelta:
    """1 s, 2 s, 4 s … capped at 5 minutes, with jitter."""
    base = min(2 ** max(attempts - 1, 0), 300)
    return timedelta(seconds=base * (0.8 + 0.4 * random.random()))


def flow_backoff(attempts: int) -> timedelta:
    """Flow-controlled users (a 200 answer naming them): 0.1 s, 0.3 s, 0.9 s, 2.7 s … capped at 5 minutes.

    Only those users are sent again, and the retry joins a call of the same content that is still
    waiting for its slot (see :meth:`OutboxWorker._place`), so a quick first retry costs at most one
    call and keeps the tail of a fan-out short; the next ones back off fast (DingTalk names no wait).
    """
    base = min(0.1 * 3 ** max(attempts - 1, 0), 300)
    return timedelta(seconds=base * (0.8 + 0.4 * random.random()))


class _Slot:
    """One paced call: when its answer came back (then its request surely reached DingTalk)."""

    __slots__ = ("end", "finished")

    def __init__(self) -> None:
        self.end = 0.0
        self.finished = asyncio.Event()

    def finish(self) -> None:
        if not self.finished.is_set():
            self.end = time.monotonic()
            self.finished.set()


class Pacer:
    """At most ``rate`` calls in any second to one API, evenly spaced, so bursts never trip QpsLimit.

    Two rules: calls at least ``1/rate`` apart, and a call starts only once the call ``rate`` places
    back has been *answered* for a second (plus a few milliseconds). DingTalk counts a call when its
    request arrives, which is between the call's start and its answer: counting from the answer keeps
    any second's window within the limit whatever the network and event-loop delays (counting from the
    start let a slow first request and a prompt 21st land in one second under load). The callers hand
    the slot back (:meth:`_Slot.finish`) when the answer (or the failure) is in. Pacing is real elapsed
    time (``time.monotonic``), not the bot's business clock.
    """

    WINDOW = 1.005

    def __init__(self, rate: float):
        self.rate = max(int(rate), 1)
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self._recent: deque[_Slot] = deque(maxlen=self.rate)
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def wait(self) -> _Slot:
        async with self._lock:  # in order: each waiter after the one before
            at = max(time.monotonic(), self._next)
            if len(self._recent) == self.rate:
                oldest = self._recent[0]
                await oldest.finished.wait()
                at = max(at, oldest.end + self.WINDOW)
            slot = _Slot()
            self._recent.append(slot)
            self._next = at + self.interval
        delay = at - time.monotonic()
        if delay > 0:
            try:
                await asyncio.sleep(delay)
            except BaseException:
                slot.finish()  # never sent: the call ``rate`` places later must not wait for it
                raise
        return slot

    def pause(self, seconds: float) -> None:
        """After a QpsLimit answer: nobody calls this API for ``seconds``."""
        self._next = max(self._next, time.monotonic() + seconds)


@dataclass(frozen=True)
class Claimed:
    oid: int
    kind: str
    conversation_id: str | None
    user_ids: list[str]
    msg_key: str
    msg_param: dict[str, Any]
    attempts: int
    purpose: str


def content_key(r: Claimed) -> str:
    return r.msg_key + json.dumps(r.msg_param, sort_keys=True, ensure_ascii=False)


def fits(b: list[Claimed], r: Claimed, limit: int = 20) -> bool:
    """Row ``r`` can share the call of bin ``b`` (same content checked by the caller)."""
    return sum(len(x.user_ids) for x in b) + len(r.user_ids) <= limit and not any(
        set(x.user_ids) & set(r.user_ids) for x in b
    )


def pack(rows: list[Claimed], limit: int = 20) -> list[list[Claimed]]:
    """Calls for the claimed rows: a group row alone; rows to people with identical content together,
    at most ``limit`` users a call (first fit, in claim order)."""
    bins: list[list[Claimed]] = []
    open_bins: dict[str, list[list[Claimed]]] = {}
    for r in rows:
        if r.kind != "users" or not r.user_ids:  # a group message, a card, a card update: alone
            bins.append([r])
            continue
        key = content_key(r)
        for b in open_bins.setdefault(key, []):
            if fits(b, r, limit):
                b.append(r)
                break
        else:
            b = [r]
            open_bins[key].append(b)
            bins.append(b)
    return bins


class OutboxWorker:
    def __init__(
        self,
        db: Database,
        api: DingTalkAPI,
        clock: Clock,
        metrics: Metrics,
        *,
        poll_seconds: float = 2.0,
        qps: float = 20.0,
        max_attempts: int = MAX_ATTEMPTS,
        stale_seconds: float = 120.0,
        operators: tuple[str, ...] = (),
        may_send: Callable[[], bool] = lambda: True,
        renderer: Renderer | None = None,
    ):
        self.db = db
        self.api = api
        self.clock = clock
        self.metrics = metrics
        self.poll_seconds = poll_seconds
        self.max_attempts = max_attempts
        self.stale_after = timedelta(seconds=stale_seconds)
        self.operators = operators
        self.renderer = renderer or Renderer()  # the operators' note on dead letters
        self.may_send = may_send  # this instance holds the scheduler lease (always, for a single instance)
        self.pacers = {API_GROUP: Pacer(qps), API_OTO: Pacer(qps), API_CARD: Pacer(qps), API_CARD_UPDATE: Pacer(qps)}
        self.window = max(qps, 1.0)  # rows claimed ahead: about one second of calls
        self._inflight_rows: dict[asyncio.Task, list[int]] = {}  # row ids this worker is sending now
        # calls to people still waiting for their pacing slot, by content: a row claimed later joins one
        self._queued: dict[str, list[tuple[list[Claimed], list[int]]]] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._stopping = False

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="outbox")

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task:
            try:
                await asyncio.wait_for(self._task, timeout=10)
            except TimeoutError:
                self._task.cancel()

    async def _run(self) -> None:
        """Keep about one second of calls claimed and waiting for their pacing slot.

        Claiming while earlier calls are still in flight keeps every slot of the pacer used (no gap
        between batches); a retry that falls due joins the next claim and shares its content's call.
        """
        inflight: set[asyncio.Task] = set()
        window = max(1, int(self.window))
        while not self._stopping:
            claimed: list[Claimed] = []
            room = window - sum(len(ids) for ids in self._inflight_rows.values())
            if room > 0 and self.may_send():
                try:
                    claimed = await self._claim(room)
                except Exception:
                    log.exception("outbox cycle failed")
            for b in self._place(claimed):
                oids = [r.oid for r in b]
                task = asyncio.get_running_loop().create_task(self._bin_task(b))
                self._inflight_rows[task] = oids
                if b[0].kind == "users" and b[0].user_ids:
                    self._queued.setdefault(content_key(b[0]), []).append((b, oids))
                inflight.add(task)
                task.add_done_callback(self._forget(inflight))
            if claimed and len(claimed) == room:
                if inflight:
                    await asyncio.wait(inflight, return_when=asyncio.FIRST_COMPLETED)
                continue
            waker = asyncio.get_running_loop().create_task(self._wake.wait())
            await asyncio.wait(
                {waker, *inflight}, timeout=await self._idle_seconds(), return_when=asyncio.FIRST_COMPLETED
            )
            waker.cancel()
            self._wake.clear()
        if inflight:
            await asyncio.wait(inflight, timeout=10)

    def _place(self, claimed: list[Claimed]) -> list[list[Claimed]]:
        """Rows that fit a call of the same content still waiting for its slot join it (a flow-controlled
        retry rides with the next batchSend of its content); the rest become new calls."""
        rest = []
        for r in claimed:
            if r.kind == "users" and r.user_ids:
                spot = next((q for q in self._queued.get(content_key(r), []) if fits(q[0], r)), None)
                if spot is not None:
                    spot[0].append(r)
                    spot[1].append(r.oid)
                    continue
            rest.append(r)
        return pack(rest)

    def _dequeue(self, rows: list[Claimed]) -> None:
        """A call got its slot: no row joins it any more."""
        if rows[0].kind == "users" and rows[0].user_ids:
            key = content_key(rows[0])
            left = [q for q in self._queued.get(key, []) if q[0] is not rows]
            if left:
                self._queued[key] = left
            else:
                self._queued.pop(key, None)

    def _forget(self, inflight: set[asyncio.Task]) -> Callable[[asyncio.Task], None]:
        def done(task: asyncio.Task) -> None:
            inflight.discard(task)
            oids = self._inflight_rows.pop(task, None)
            for key, queued in list(self._queued.items()):  # a call that ended before its slot (failure)
                left = [q for q in queued if q[1] is not oids]
                if len(left) != len(queued):
                    self._queued[key] = left
                if not left:
                    self._queued.pop(key, None)

        return done

    async def _claim(self, limit: int) -> list[Claimed]:
        now = self.clock.now()
        async with self.db.unit_of_work() as uow:
            # Rows this worker still holds (waiting for their pacing slot) are not a dead worker's.
            mine = [oid for ids in self._inflight_rows.values() for oid in ids]
            rows = await uow.outbox.claim_due(now, limit=limit, stale_after=self.stale_after, exclude=mine)
            return [
                Claimed(
                    r.id,
                    r.kind,
                    r.conversation_id,
                    list(r.user_ids or []),
                    r.msg_key,
                    dict(r.msg_param),
                    r.attempts,
                    r.purpose,
                )
                for r in rows
            ]

    async def _bin_task(self, rows: list[Claimed]) -> None:
        try:
            dead = await self._send_bin(rows)
            if dead:
                await self._tell_operators(dead)
        except Exception:
            log.exception("outbox send of %s failed", [r.oid for r in rows])

    async def _idle_seconds(self) -> float:
        """Until the next retry is due, at most a poll period."""
        try:
            async with self.db.unit_of_work() as uow:
                at = await uow.outbox.next_attempt()
        except Exception:
            log.exception("outbox: cannot read the next retry time")
            return self.poll_seconds
        if at is None:
            return self.poll_seconds
        return min(self.poll_seconds, max((at - self.clock.now()).total_seconds(), 0.01))

    async def flush_once(self, limit: int = 20) -> bool:
        """Send what is due; True if a full batch was claimed (more may be waiting).

        Rows to people with the same content share one batchSend (≤ 20 users), so the people a
        flow-controlled answer left out are sent again together. Each call's outcome is committed as
        soon as DingTalk answers it, so a crash loses at most the answers not written yet.
        """
        claimed = await self._claim(limit)
        results = await asyncio.gather(*(self._send_bin(b) for b in pack(claimed)))
        if any(results):
            await self._tell_operators(sum(results))
        if claimed:
            async with self.db.unit_of_work() as uow:
                self.metrics.outbox_depth.set(await uow.outbox.depth())
        return len(claimed) == limit

    async def _send_bin(self, rows: list[Claimed]) -> int:
        """One call for rows of one content; commit their outcomes; the number dead-lettered (to report)."""
        first = rows[0]
        api = {"group": API_GROUP, "card": API_CARD, "card_update": API_CARD_UPDATE}.get(first.kind, API_OTO)
        slot = await self.pacers[api].wait()
        self._dequeue(rows)  # from here on the call's rows are fixed
        users = [u for r in rows for u in r.user_ids]
        try:
            updates = await self._call(rows, users, api)
        finally:
            slot.finish()
        month = self.clock.now().strftime("%Y-%m")
        async with self.db.unit_of_work() as uow:
            dead = [await update(uow) for update in updates]
            await uow.outbox.count_call(month, api)
        return sum(1 for d, r in zip(dead, rows, strict=True) if d and r.purpose != "deadletter")

    async def _call(self, rows: list[Claimed], users: list[str], api: str) -> list[Any]:
        """The DingTalk call for one bin; the outcome of each row (to commit)."""
        first = rows[0]
        try:
            throttled: set[str] = set()
            if first.kind == "group":
                await self.api.send_group(first.conversation_id or "", first.msg_key, first.msg_param)
            elif first.kind == "card":
                await self.api.send_card(
                    first.user_ids, first.msg_key, first.msg_param["outTrackId"], first.msg_param["params"]
                )
            elif first.kind == "card_update":
                p = first.msg_param
                await self.api.update_card(p["outTrackId"], p.get("params"), p.get("private"))
            else:
                res = await self.api.send_users(users, first.msg_key, first.msg_param)
                throttled = set(res.throttled_ids)
                if res.invalid_ids:
                    log.warning("outbox %s: invalid user ids %s", [r.oid for r in rows], res.invalid_ids)
        except SendError as exc:
            if exc.throttled:
                self.pacers[api].pause(1.0)
            return [self._failed_call(r, exc) for r in rows]
        return [self._answered(r, [u for u in r.user_ids if u in throttled]) for r in rows]

    def _failed_call(self, row: Claimed, exc: SendError):
        if exc.retry and row.attempts < min(self.max_attempts, MAX_TRANSIENT_ATTEMPTS):
            self.metrics.sends.labels(result="throttled" if exc.throttled else "retry").inc()
            at = self.clock.now() + backoff(row.attempts)
            log.info("outbox %s: retry at %s (%s)", row.oid, at.isoformat(), exc)

            async def later(uow, oid=row.oid, at=at, err=str(exc)):
                await uow.outbox.reschedule(oid, at, err)

            return later
        alt = row.msg_param.get("fallback") if row.kind == "card" else None
        if alt:
            return self._card_fallback(row, alt, str(exc))
        return self._dead(row.oid, str(exc))

    def _card_fallback(self, row: Claimed, alt: dict[str, Any], err: str):
        """A card DingTalk refuses for good: its action card with the same tasks and the text commands."""
        log.warning("outbox %s: card refused (%s), sending its action card instead", row.oid, err)

        async def instead(uow, oid=row.oid, err=err) -> bool:
            await uow.outbox.mark_failed(oid, err)
            await uow.outbox.enqueue(
                kind="users",
                user_ids=row.user_ids,
                msg_key=alt["msgKey"],
                msg_param=alt["msgParam"],
                now=self.clock.now(),
                purpose="card-fallback",
            )
            self.wake()
            return False

        return instead

    def _answered(self, row: Claimed, throttled: list[str]):
        if throttled:
            # Those people did not get it: send again to them alone, later (dead-lettered after the bound).
            if row.attempts >= self.max_attempts:
                return self._dead(row.oid, f"flow-controlled {row.attempts} times: {throttled}", user_ids=throttled)
            self.metrics.sends.labels(result="throttled").inc()
            at = self.clock.now() + flow_backoff(row.attempts)

            async def partly(uow, oid=row.oid, at=at, ids=throttled):
                await uow.outbox.reschedule(oid, at, f"flow-controlled: {ids}", user_ids=ids)

            return partly
        self.metrics.sends.labels(result="sent").inc()

        async def sent(uow, oid=row.oid):
            await uow.outbox.mark_sent(oid, self.clock.now())

        return sent

    def _dead(self, oid: int, err: str, user_ids: list[str] | None = None):
        self.metrics.sends.labels(result="failed").inc()
        log.error("outbox %s failed for good: %s", oid, err)

        async def failed(uow, oid=oid, err=err, ids=user_ids) -> bool:
            if ids is not None:
                await uow.outbox.reschedule(oid, self.clock.now(), err, user_ids=ids)
            await uow.outbox.mark_failed(oid, err)
            return True

        return failed

    async def _tell_operators(self, n: int) -> None:
        """Dead letters: one 1:1 note to the provincial operators per hour."""
        if not self.operators:
            return
        now = self.clock.now()
        async with self.db.unit_of_work() as uow:
            await enqueue_reply(
                uow,
                self.renderer,
                Reply("core/dead_letters", {"n": n}),
                now=now,
                user_ids=list(self.operators),
                purpose="deadletter",
                dedup_key=f"deadletter:{now:%Y-%m-%dT%H}",
            )
