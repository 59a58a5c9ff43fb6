"""The bot's own HTTP side: /healthz, /metrics, signed downloads; features add routes."""
from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

from aiohttp import web

from bot.links import LINK_SECRET, verify_download
from bot.metrics import CONTENT_TYPE_LATEST

if TYPE_CHECKING:
    from bot.app import BotApp

BOT_KEY = web.AppKey("bot", object)


def make_http_app(bot: BotApp) -> web.Application:
    app = web.Application(client_max_size=max(bot.settings.activity_max_bytes, 1024 ** 2) + 1024)
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
    body = {"status": "ok" if ok else "degraded", "database": "ok" if db_ok else "down", "dingtalk": stream,
            "simulator": bot.simulator_url}
    for f in bot.features:                # features add their own parts (e.g. holiday data, scheduler lease)
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
        return web.Response(status=404, text="链接无效或已过期（24 小时有效），请在钉钉里重新导出。",
                            content_type="text/plain", charset="utf-8")
    async with bot.db.unit_of_work() as uow:
        row = await uow.downloads.get_live(file_id, now)
        if row is None:
            return web.Response(status=404, text="文件已过期，请在钉钉里重新导出。", content_type="text/plain",
                                charset="utf-8")
        data, name, ctype = row.data, row.filename, row.content_type
    return web.Response(body=data, headers={
        "Content-Type": ctype,
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}",
        "Cache-Control": "private, no-store",
        "X-Content-Type-Options": "nosniff",
    })
