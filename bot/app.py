"""Composition root: builds every part of the bot and wires them together."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web

from bot.claims import Inbox
from bot.clock import Clock, SystemClock
from bot.commands import Registry, Router
from bot.config import Settings
from bot.context import Services
from bot.delivery import ReplyDelivery
from bot.dingtalk.openapi import DingTalkAPI
from bot.dingtalk.outbox import OutboxWorker
from bot.dingtalk.stream import StreamTransport
from bot.dispatcher import Dispatcher
from bot.http import make_http_app
from bot.incoming import IncomingMessage, from_callback_data
from bot.metrics import Metrics
from bot.replies import Renderer
from scheduler import JobRunner, JobSpec, Scheduler
from scheduler.lease import Lease
from storage.db import Database
from storage.startup_migrate import migrate_at_startup

if TYPE_CHECKING:
    from handlers.feature import Feature

log = logging.getLogger("bot.app")


class BotApp:
    """One bot instance. ``await start()`` … ``await stop()``.

    ``features`` defaults to the explicit list in ``handlers/features.py``; ``routers`` (default: the
    features' routers) replaces the commands, and tests may add routers (e.g. one whose handler raises).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        routers: list[Router] | None = None,
        extra_routers: Sequence[Router] = (),
        migrate: bool = True,
        connect: bool = True,
        serve_http: bool = True,
        features: Sequence[Feature] | None = None,
    ):
        from handlers.features import FEATURES
        from handlers.features import routers as feature_routers

        self.settings = settings
        self.clock = clock or SystemClock(settings.tz)
        self.features: Sequence[Feature] = FEATURES if features is None else features
        if routers is None:
            routers = feature_routers(tuple(self.features))
        self.registry = Registry()
        self.registry.include_routers(*routers, *extra_routers)
        self.metrics = Metrics()
        self.renderer = Renderer()
        self.services = Services(settings=settings, clock=self.clock, renderer=self.renderer, registry=self.registry)
        self.db = Database(settings.resolved_database_url)
        self._migrate = migrate
        self._connect = connect
        self._serve_http = serve_http
        self.http_session: aiohttp.ClientSession | None = None
        self.api: DingTalkAPI | None = None
        self.outbox: OutboxWorker | None = None
        self.dispatcher: Dispatcher | None = None
        # The inbox writes on a connection of its own (kept between its transactions; the second one
        # of the pool reads the unhandled messages): frames waiting for their ACK and "sent" marks
        # after webhook replies never queue behind the handlers' transactions.
        self.inbox_db = Database(settings.resolved_database_url, pool_size=1, max_overflow=1)
        self.inbox = Inbox(self.inbox_db, self.clock)
        self._sweeper: asyncio.Task | None = None
        self.transport: StreamTransport | None = None
        self.scheduler: Scheduler | None = None
        self.lease: Lease | None = None
        self.http_runner: web.AppRunner | None = None
        self.http_port: int | None = None
        self.simulator_url: str | None = None  # set when run_bot.py started the local simulator
        self._stopped = asyncio.Event()

    def jobs(self) -> list[JobSpec]:
        from scheduler.jobs import JOBS

        return [*JOBS, *(job for f in self.features for job in f.jobs)]

    async def start(self) -> None:
        try:
            await self._start()
        except BaseException:
            await self.stop()  # close what was opened (no "Unclosed client session")
            raise

    async def _start(self) -> None:
        s = self.settings
        if self._migrate:
            await migrate_at_startup(self.db.url)  # Alembic stays out of this process
        self.http_session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=15, connect=5), connector=aiohttp.TCPConnector(limit=100)
        )
        self.api = DingTalkAPI(
            self.http_session,
            endpoint=s.dingtalk_openapi_endpoint,
            client_id=s.dingtalk_client_id,
            client_secret=s.dingtalk_client_secret,
            robot_code=s.robot_code,
        )
        lease = self.lease = Lease(self.db, ttl=s.scheduler_lease_seconds)
        self.outbox = OutboxWorker(
            self.db,
            self.api,
            self.clock,
            self.metrics,
            qps=s.dingtalk_qps,
            max_attempts=s.outbox_max_attempts,
            stale_seconds=s.outbox_stale_seconds,
            operators=tuple(s.bot_superadmins),
            renderer=self.services.renderer,
            may_send=lease.holds,  # one sender among instances: DingTalk's limits are per organisation
        )
        self.services.on_outbox = self.outbox.wake
        delivery = ReplyDelivery(self.api, self.inbox, self.outbox.wake)
        self.dispatcher = Dispatcher(self.services, self.db, delivery, self.metrics, self.inbox)
        for f in self.features:
            if f.on_startup:
                await f.on_startup(self)
        self.outbox.start()
        self.scheduler = Scheduler(JobRunner(self.db, self.services), self.jobs(), s.tz, lease=lease)
        lease.on_gain = self._lease_gained
        self.scheduler.start()
        await self.lease.try_acquire()
        self.lease.start()
        if self._serve_http:
            app = make_http_app(self)
            for f in self.features:
                if f.setup_http:
                    f.setup_http(app, self)
            self.http_runner = web.AppRunner(app, access_log=None)
            await self.http_runner.setup()
            site = web.TCPSite(self.http_runner, s.bot_http_host, s.bot_http_port)
            await site.start()
            self.http_port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            if not s.bot_public_url and s.bot_http_port == 0:
                # A random port (tests, benchmarks): links must carry the real one.
                self.settings = s.model_copy(update={"bot_http_port": self.http_port})
                self.services.settings = self.settings
        if self.db.dialect == "sqlite":
            # One instance per SQLite file: replies a dead process held for its webhook go now
            # (on PostgreSQL another instance may be holding them: they wait for REPLY_LEASE).
            async with self.db.unit_of_work() as uow:
                if await uow.outbox.release_all_sending(self.clock.now()):
                    self.outbox.wake()
        # Messages stored before a crash (or by an instance that died) are handled now.
        await self.recover()
        self._sweeper = asyncio.create_task(self._sweep(), name="inbox-sweeper")
        if self._connect:
            self.transport = StreamTransport(
                client_id=s.dingtalk_client_id,
                client_secret=s.dingtalk_client_secret,
                endpoint=s.dingtalk_openapi_endpoint,
                on_message=self._on_frame,
                watchdog_seconds=s.bot_watchdog_seconds,
                on_connect=self.metrics.reconnects.inc,
            )
            await self.transport.start()
        log.info("bot started (db=%s, http=%s)", self.db.dialect, self.http_port)

    def _on_frame(self, data: dict[str, Any], stream_message_id: str | None) -> asyncio.Future[Any]:
        """On the bot loop: store the frame in the inbox (grouped with the frames arriving with it),
        then handle it in its own task. The SDK ACKs once the returned future is done; if the frame
        cannot be stored the future has the exception and the frame is not ACKed."""
        try:
            msg = from_callback_data(data)
        except Exception:
            log.exception("unreadable callback data (stream messageId=%s)", stream_message_id)
            ignored = asyncio.get_running_loop().create_future()
            ignored.set_result(None)  # ACKed: a frame nobody can read is not worth a redelivery
            return ignored
        if not msg.msg_id:
            msg_id = f"stream:{stream_message_id}" if stream_message_id else f"local:{uuid.uuid4().hex}"
            msg = msg.__class__(**{**msg.__dict__, "msg_id": msg_id})
            data = {**data, "msgId": msg_id}
        stored = self.inbox.store(msg.msg_id, data)
        stored.add_done_callback(partial(self._stored, msg))
        return stored

    def _stored(self, msg: IncomingMessage, stored: asyncio.Future[bool]) -> None:
        if stored.cancelled() or stored.exception() is not None:
            return  # not stored: not ACKed either (bot.dingtalk.stream)
        assert self.dispatcher is not None, "frames arrive only after start()"
        if stored.result():
            self.dispatcher.submit(msg)
        else:
            log.info("redelivered msgId=%s: stored already", msg.msg_id)
            self.metrics.observe("duplicate", None, 0.0)

    async def _lease_gained(self) -> None:
        """This instance now runs the jobs and sends the outbox: what waited goes now, then missed jobs."""
        if self.outbox:
            self.outbox.wake()
        if self.scheduler:
            await self.scheduler.catch_up()

    async def recover(self, received_before: Any = None) -> int:
        """Handle the inbox's stored but unhandled messages (oldest first); returns how many."""
        rows = await self.inbox.unhandled(received_before)
        n = 0
        for msg_id, data in rows:
            try:
                msg = from_callback_data(data)
            except Exception:
                log.exception("unreadable stored message %s", msg_id)
                continue
            if self.dispatcher is not None and self.dispatcher.submit(msg) is not None:
                n += 1
        if n:
            log.info("handling %d stored message(s) left unhandled", n)
        return n

    async def _sweep(self) -> None:
        """Messages of an instance that died mid-way: older than any live handler could be."""
        age = timedelta(seconds=2 * self.settings.bot_handler_timeout + 5)
        while True:
            await asyncio.sleep(min(10.0, age.total_seconds()))
            try:
                await self.recover(self.clock.now() - age)
            except Exception:
                log.exception("inbox sweep failed")

    async def stop(self) -> None:
        if self._sweeper:
            self._sweeper.cancel()
        if self.transport:
            await self.transport.stop()
        if self.dispatcher:
            await self.dispatcher.drain(timeout=self.settings.bot_handler_timeout)
        if self.lease:
            await self.lease.stop()
        if self.scheduler:
            self.scheduler.shutdown()
        if self.outbox:
            await self.outbox.stop()
        if self.http_runner:
            await self.http_runner.cleanup()
        if self.http_session:
            await self.http_session.close()
        await self.db.dispose()
        await self.inbox.close()
        await self.inbox_db.dispose()
        self._stopped.set()
        log.info("bot stopped")

    async def __aenter__(self) -> BotApp:
        await self.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.stop()
