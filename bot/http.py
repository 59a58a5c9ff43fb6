"""The bot's own HTTP side: /healthz, /metrics, signed downloads; features add routes.

Every route reads a body through :func:`read_body` / :func:`parse_json_items` (size limit,
UTF-8, JSON or NDJSON, nesting depth), and the :func:`errors_as_json` middleware turns every
refusal and every unexpected error into a short Chinese JSON answer: a 4xx names the problem,
a 500 gives an error reference that is in the log with the traceback.
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from aiohttp import web

from bot.links import LINK_SECRET, verify_download
from bot.metrics import CONTENT_TYPE_LATEST

if TYPE_CHECKING:
    from bot.app import BotApp

BOT_KEY = web.AppKey("bot", object)
log = logging.getLogger("bot.http")
MAX_DEPTH = 32  # JSON nesting accepted in a body (the API's items are flat objects)

_STATUS_TEXT = {
    400: "请求有误",
    401: "未授权",
    403: "没有权限",
    404: "没有这个地址，请核对网址",
    405: "不支持这种请求方法，请按接口说明发送",
    408: "请求超时，请重试",
    411: "请求缺少长度（Content-Length）",
    413: "请求体过大，请分批发送",
    415: "不支持这种内容类型，请发送 JSON",
    429: "请求太频繁，请稍后再试",
}


class BodyError(Exception):
    """A body refused: ``status`` (4xx) and a short Chinese reason."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


def json_error(status: int, message: str, **extra: Any) -> web.Response:
    return web.json_response(
        {"error": message, **extra}, status=status, dumps=lambda o: json.dumps(o, ensure_ascii=False)
    )


async def read_body(request: web.Request, limit: int) -> bytes:
    """The whole body, refused (413) as soon as it passes ``limit`` bytes."""
    too_big = BodyError(413, f"请求体超过 {limit} 字节上限，请分批发送")
    if request.content_length is not None and request.content_length > limit:
        raise too_big
    body = bytearray()
    try:
        async for chunk in request.content.iter_chunked(65536):
            body += chunk
            if len(body) > limit:
                raise too_big
    except web.HTTPException:
        raise
    except (ValueError, ConnectionError) as exc:  # broken chunked encoding, aborted upload
        raise BodyError(400, "请求体读取失败（传输中断或分块编码错误），请重发") from exc
    return bytes(body)


def _depth_ok(value: Any) -> bool:
    stack = [(value, 1)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, (list, dict)):
            if d > MAX_DEPTH:
                return False
            stack.extend((c, d + 1) for c in (v.values() if isinstance(v, dict) else v))
    return True


def loads_json(text: str) -> Any:
    """json.loads with the nesting limit; ValueError (Chinese reason) on any bad input."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise ValueError(f"JSON 嵌套层数过多（最多 {MAX_DEPTH} 层）") from None
    except ValueError as exc:
        raise ValueError(f"JSON 格式错误（第 {getattr(exc, 'lineno', '?')} 行）") from None
    if not _depth_ok(value):
        raise ValueError(f"JSON 嵌套层数过多（最多 {MAX_DEPTH} 层）")
    return value


def parse_json_items(body: bytes) -> tuple[list[Any], list[tuple[int, str]]]:
    """A JSON array, or NDJSON (one item per line). Returns (items, [(index, reason)] of bad lines;
    their items are None); raises ValueError(Chinese reason) when the whole body is unusable."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError("请求体不是 UTF-8 编码") from None
    stripped = text.strip()
    if not stripped:
        raise ValueError("请求体是空的，请发送 JSON 数组或 NDJSON")
    if stripped[0] == "[":
        data = loads_json(stripped)
        if not isinstance(data, list):
            raise ValueError("请发送 JSON 数组")
        return data, []
    items: list[Any] = []
    bad: list[tuple[int, str]] = []
    for n, line in enumerate(stripped.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            items.append(loads_json(line))
        except ValueError as exc:
            deep = "嵌套" in str(exc)
            bad.append((len(items), f"第 {n} 行{'：' + str(exc) if deep else '不是有效的 JSON'}"))
            items.append(None)
    if bad and len(bad) == len(items):
        raise ValueError("请求体既不是 JSON 数组也不是 NDJSON")
    return items, bad


def json_ok(data: Any) -> web.Response:
    return web.json_response(data, dumps=lambda o: json.dumps(o, ensure_ascii=False))


async def api_items(request: web.Request) -> tuple[BotApp, list[Any], list[tuple[int, str]]] | web.Response:
    """What the bot's JSON APIs (activity, resources, feedback) read: the bearer-token check (401), the
    size-limited body (413) and its items (400 when the whole body is unusable). Returns (the bot, the
    items, the bad lines as (index, reason); their items are ``{}``), or the refusal to answer with."""
    bot = get_bot(request)
    token = bot.settings.activity_api_token
    auth = request.headers.get("Authorization", "")
    given = auth[7:].strip() if auth[:7].lower() == "bearer " else ""
    if not token or not given or not hmac.compare_digest(given.encode(), token.encode()):
        return web.json_response(
            {"error": "未授权：请在 Authorization 头中带上 Bearer 令牌"},
            status=401,
            headers={"WWW-Authenticate": "Bearer"},
            dumps=lambda o: json.dumps(o, ensure_ascii=False),
        )
    body = await read_body(request, bot.settings.activity_max_bytes)  # too large / badly encoded: 4xx
    try:
        items, bad_lines = parse_json_items(body)
    except ValueError as exc:
        return json_error(400, str(exc))
    return bot, [{} if item is None else item for item in items], bad_lines


def with_bad_lines(rejected: list[tuple[int, str]], bad_lines: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """The refusals of a report with the body's bad lines in place of what their empty items got."""
    if not bad_lines:
        return rejected
    bad = {i for i, _r in bad_lines}
    return sorted([r for r in rejected if r[0] not in bad] + bad_lines)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def errors_as_json(request: web.Request, handler: Handler) -> web.StreamResponse:
    """No English error page, no traceback: refusals and failures answer in Chinese JSON."""
    try:
        return await handler(request)
    except BodyError as exc:
        return json_error(exc.status, exc.reason)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        text = _STATUS_TEXT.get(exc.status, "请求无法处理")
        return _with_headers(json_error(exc.status, text), exc)
    except Exception:
        ref = secrets.token_hex(4).upper()
        log.exception("HTTP %s %s failed ref=%s", request.method, request.path, ref)
        return json_error(500, f"服务器出错了，请稍后重试；如果一直出错，请把错误编号 {ref} 告诉管理员", ref=ref)


def _with_headers(resp: web.Response, exc: web.HTTPException) -> web.Response:
    for name in ("Allow", "WWW-Authenticate", "Retry-After"):
        if name in exc.headers:
            resp.headers[name] = exc.headers[name]
    return resp


def make_http_app(bot: BotApp) -> web.Application:
    app = web.Application(
        client_max_size=max(bot.settings.activity_max_bytes, 1024**2) + 1024, middlewares=[errors_as_json]
    )
    app[BOT_KEY] = bot
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/files/{file_id}", download)
    return app


def get_bot(request: web.Request) -> BotApp:
    return request.app[BOT_KEY]  # type: ignore[return-value]


async def healthz(request: web.Request) -> web.Response:
    bot = get_bot(request)
    db_ok = await bot.db.ping()
    t = bot.transport
    stream = {
        "connected": bool(t and t.connected),
        "connects": t.connects if t else 0,
        "seconds_since_frame": round(t.seconds_since_frame, 1) if t else None,
    }
    ok = db_ok and stream["connected"]
    body = {
        "status": "ok" if ok else "degraded",
        "database": "ok" if db_ok else "down",
        "dingtalk": stream,
        "simulator": bot.simulator_url,
    }
    for f in bot.features:  # features add their own parts (e.g. holiday data, scheduler lease)
        if f.health:
            body.update(f.health(bot))
    return web.json_response(body, status=200 if ok else 503)


async def metrics(request: web.Request) -> web.Response:
    bot = get_bot(request)
    try:
        async with bot.db.unit_of_work() as uow:
            bot.metrics.outbox_depth.set(await uow.outbox.depth())
    except Exception:
        pass
    bot.metrics.connected.set(1 if bot.transport and bot.transport.connected else 0)
    return web.Response(body=bot.metrics.render(), headers={"Content-Type": CONTENT_TYPE_LATEST})


async def download(request: web.Request) -> web.Response:
    bot = get_bot(request)
    file_id = request.match_info["file_id"]
    now = bot.clock.now()
    secret = bot.services.use(LINK_SECRET)
    if not verify_download(secret, file_id, request.query.get("e", ""), request.query.get("s", ""), now):
        return web.Response(
            status=404,
            text="链接无效或已过期（24 小时有效），请在钉钉里重新导出。",
            content_type="text/plain",
            charset="utf-8",
        )
    async with bot.db.unit_of_work() as uow:
        row = await uow.downloads.get_live(file_id, now)
        if row is None:
            return web.Response(
                status=404, text="文件已过期，请在钉钉里重新导出。", content_type="text/plain", charset="utf-8"
            )
        data, name, ctype = row.data, row.filename, row.content_type
    return web.Response(
        body=data,
        headers={
            "Content-Type": ctype,
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}",
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
