"""The Stream gateway of the fake DingTalk: tickets, the bot's WebSockets, frames pushed and ACKed.

``POST /v1.0/gateway/connections/open`` hands out a single-use ticket (90 s);
``GET /connect?ticket=`` upgrades to the WebSocket the SDK keeps open. Frames pushed to the bot
go to the newest live connection; every frame the bot sends back is recorded as ``ack`` with the
``msg_id``/``conversation_id`` of the push it answers (and may trigger a hook, e.g. a card
callback's ACK updates the card).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from simulator.records import Record

if TYPE_CHECKING:
    from simulator.server import FakeDingTalk

log = logging.getLogger("simulator")

TICKET_TTL_S = 90.0  # a ticket is valid for 90 s and one connection


def ms() -> int:
    return int(time.time() * 1000)


@dataclass
class Conn:
    id: str
    ws: web.WebSocketResponse
    ticket: str
    connected_at: float
    draining: bool = False  # got a SYSTEM disconnect: no new deliveries


@dataclass
class Pushed:
    topic: str
    msg_id: str | None = None
    conversation_id: str | None = None
    on_ack: Callable[[Record], None] | None = field(default=None, repr=False)


class StreamGateway:
    """Connections and frames. Blocking methods run their coroutine on the server loop."""

    def __init__(self, sim: FakeDingTalk) -> None:
        self.sim = sim
        self.book = sim.book
        self.connections = 0  # how many WebSockets were accepted so far
        self._conns: list[Conn] = []
        self._tickets: dict[str, float] = {}
        self._used_tickets: set[str] = set()
        self._pushed: dict[str, Pushed] = {}
        self._has_conn: asyncio.Event | None = None

    def setup(self, app: web.Application) -> None:
        self._has_conn = asyncio.Event()
        app.router.add_post("/v1.0/gateway/connections/open", self._h_open_connection)
        app.router.add_get("/connect", self._h_connect)

    # ----------------------------------------------------------------- connection state

    def active(self) -> list[Conn]:
        with self.book.cond:
            return [c for c in self._conns if not c.draining and not c.ws.closed]

    def all_open(self) -> list[Conn]:
        with self.book.cond:
            return [c for c in self._conns if not c.ws.closed]

    def refresh(self) -> None:
        """Loop thread only: keep the asyncio event in step with the connection list."""
        if self._has_conn is None:
            return
        if self.active():
            self._has_conn.set()
        else:
            self._has_conn.clear()
        self.book.notify()

    def wait_connected(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with self.book.cond:
            while not self.active():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"no bot connected within {timeout} s. {self.book.recent()}")
                self.book.cond.wait(remaining)

    # ----------------------------------------------------------------- HTTP handlers

    async def _h_open_connection(self, request: web.Request) -> web.Response:
        sim = self.sim
        body = await sim.openapi.json_body(request)
        if not isinstance(body, dict):
            return sim.openapi.reject(
                "open_connection", 400, {"code": "invalidParameter", "message": "body must be JSON"}, body
            )
        if body.get("clientId") != sim.client_id or body.get("clientSecret") != sim.client_secret:
            return sim.openapi.reject(
                "open_connection",
                401,
                {"code": "InvalidAuthentication", "message": "clientId 或 clientSecret 不正确"},
                body,
            )
        ticket = str(uuid.uuid4())
        with self.book.cond:
            self._tickets[ticket] = time.monotonic()
        self.book.add("open_connection", body)
        host = request.host or f"127.0.0.1:{sim.port}"
        return web.json_response({"endpoint": f"ws://{host}/connect", "ticket": ticket})

    async def _h_connect(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket", "")
        with self.book.cond:
            issued = self._tickets.pop(ticket, None)
            reused = ticket in self._used_tickets
            if issued is not None:
                self._used_tickets.add(ticket)
        if issued is None or time.monotonic() - issued > TICKET_TTL_S:
            why = "ticket already used" if reused else ("ticket expired" if issued else "unknown ticket")
            return self.sim.openapi.reject(
                "connect", 401, {"code": "InvalidTicket", "message": why}, {"ticket": ticket}
            )
        ws = web.WebSocketResponse(autoping=True, heartbeat=None, max_msg_size=4 * 1024 * 1024)
        await ws.prepare(request)
        conn = Conn(id=str(uuid.uuid4()), ws=ws, ticket=ticket, connected_at=time.time())
        with self.book.cond:
            self._conns.append(conn)
            self.connections += 1
        self.refresh()
        self.book.add("connected", {"connectionId": conn.id, "ticket": ticket})
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    self._on_bot_frame(msg.data)
                elif msg.type == WSMsgType.BINARY:
                    self.book.add(
                        "rejected",
                        {"api": "websocket", "status": 0, "error": "binary frame", "request": msg.data[:200].hex()},
                    )
        finally:
            with self.book.cond:
                if conn in self._conns:
                    self._conns.remove(conn)
            self.refresh()
            self.book.add("disconnected", {"connectionId": conn.id, "code": ws.close_code})
        return ws

    def _on_bot_frame(self, raw: str) -> None:
        try:
            frame = json.loads(raw)
        except ValueError:
            self.book.add(
                "rejected", {"api": "websocket", "status": 0, "error": "frame is not JSON", "request": raw[:500]}
            )
            return
        headers = frame.get("headers") if isinstance(frame, dict) else None
        sid = headers.get("messageId") if isinstance(headers, dict) else None
        with self.book.cond:
            pushed = self._pushed.get(sid) if sid else None
        rec = self.book.add(
            "ack",
            frame,
            msg_id=pushed.msg_id if pushed else None,
            conversation_id=pushed.conversation_id if pushed else None,
        )
        if pushed is not None and pushed.on_ack is not None:
            try:
                pushed.on_ack(rec)
            except Exception:
                log.exception("fake DingTalk: ACK hook failed")

    # ----------------------------------------------------------------- pushing frames

    def callback_frame(self, topic: str, data: dict[str, Any]) -> dict[str, Any]:
        """A CALLBACK frame as DingTalk pushes it (``data`` JSON-encoded, a fresh stream messageId)."""
        now = ms()
        stream_id = f"{uuid.uuid4().hex[:8]}_{random.randint(100, 999)}_{now:x}_{random.randint(0, 0xFFFFF):x}"
        return {
            "specVersion": "1.0",
            "type": "CALLBACK",
            "headers": {
                "appId": self.sim.app_id,
                "connectionId": "",
                "contentType": "application/json",
                "messageId": stream_id,
                "time": str(now),
                "topic": topic,
            },
            "data": json.dumps(data, ensure_ascii=False),
        }

    def system_frame(self, topic: str, data: dict[str, Any]) -> dict[str, Any]:
        return {
            "specVersion": "1.0",
            "type": "SYSTEM",
            "headers": {
                "appId": self.sim.app_id,
                "contentType": "application/json",
                "messageId": f"{uuid.uuid4().hex[:8]}_{topic}_{ms():x}",
                "time": str(ms()),
                "topic": topic,
            },
            "data": json.dumps(data, ensure_ascii=False),
        }

    async def wait_conn(self, wait: float) -> Conn:
        assert self._has_conn is not None
        deadline = time.monotonic() + wait
        while True:
            active = self.active()
            if active:
                # the newest connection gets the push; sim.spread: any of them at random (as DingTalk)
                return random.choice(active) if self.sim.spread else active[-1]
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RuntimeError(f"no bot connected to the fake DingTalk (waited {wait} s)")
            try:
                await asyncio.wait_for(self._has_conn.wait(), remaining)
            except TimeoutError:
                pass

    async def push(
        self,
        frame: dict[str, Any],
        *,
        wait: float | None = None,
        kind: str = "push",
        record_payload: Any = None,
        msg_id: str | None = None,
        conversation_id: str | None = None,
        on_ack: Callable[[Record], None] | None = None,
    ) -> Conn:
        wait = self.sim.delivery_timeout if wait is None else wait
        deadline = time.monotonic() + wait
        while True:
            conn = await self.wait_conn(max(0.0, deadline - time.monotonic()))
            headers = frame.setdefault("headers", {})
            if isinstance(headers, dict):
                headers["connectionId"] = conn.id
                sid = headers.get("messageId")
                if sid:
                    with self.book.cond:
                        self._pushed[sid] = Pushed(str(headers.get("topic", "")), msg_id, conversation_id, on_ack)
            text = json.dumps(frame, ensure_ascii=False)
            # Record first: the bot may answer before send_str returns control to us.
            self.book.add(
                kind,
                frame if record_payload is None else record_payload,
                conversation_id=conversation_id,
                msg_id=msg_id,
            )
            try:
                await conn.ws.send_str(text)
                return conn
            except (ConnectionError, RuntimeError) as exc:
                log.info("push to %s failed (%r); trying another connection", conn.id, exc)
                conn.draining = True
                self.refresh()
                if time.monotonic() >= deadline:
                    raise RuntimeError("bot WebSocket closed while pushing") from exc

    async def ping_loop(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            for conn in self.active():
                frame = self.system_frame("ping", {"opaque": str(uuid.uuid4())})
                frame["headers"]["connectionId"] = conn.id
                try:
                    self.book.add("push", frame)
                    await conn.ws.send_str(json.dumps(frame))
                except Exception:  # closing socket
                    pass

    async def disconnect(self, reason: str, delay: float) -> None:
        conn = await self.wait_conn(self.sim.delivery_timeout)
        frame = self.system_frame("disconnect", {"reason": reason})
        frame["headers"]["connectionId"] = conn.id
        conn.draining = True
        self.refresh()
        self.book.add("push", frame)
        await conn.ws.send_str(json.dumps(frame))

        async def close_later() -> None:
            await asyncio.sleep(delay)
            if not conn.ws.closed:
                await conn.ws.close(code=1000, message=b"disconnect")

        self.sim.spawn(close_later())

    async def close(self, code: int, all_connections: bool) -> bool:
        conns = self.all_open()
        if not conns:
            return False
        targets = conns if all_connections else [conns[-1]]
        for c in targets:
            c.draining = True
        self.refresh()
        await asyncio.gather(
            *(c.ws.close(code=code, message=b"closed by simulator") for c in targets), return_exceptions=True
        )
        return True

    async def shutdown(self) -> None:
        conns = self.all_open()
        await asyncio.gather(
            *(c.ws.close(code=1001, message=b"server shutdown") for c in conns), return_exceptions=True
        )
