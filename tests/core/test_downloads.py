"""Signed, expiring download links served by the bot's own HTTP server."""

from __future__ import annotations

from datetime import datetime, timedelta

import aiohttp

from bot.app import BotApp
from bot.clock import SHANGHAI, ManualClock


async def test_signed_links(make_settings):
    clock = ManualClock(datetime(2026, 4, 20, 9, 0, tzinfo=SHANGHAI))
    bot = BotApp(make_settings(), clock=clock, connect=False)
    await bot.start()
    try:
        async with bot.db.unit_of_work() as uow:
            row = await uow.downloads.add(
                filename="杭州市-附件1.xlsx",
                content_type="application/x-test",
                data=b"PK-data",
                created_by="op",
                now=clock.now(),
                ttl=timedelta(hours=24),
            )
            url = bot.services.download_url(row.id, row.expires_at)
        assert len(row.id) >= 32
        async with aiohttp.ClientSession() as s:
            async with s.get(url) as r:
                assert r.status == 200 and await r.read() == b"PK-data"
                assert (
                    "attachment" in r.headers["Content-Disposition"] and "%E6%9D%AD" in r.headers["Content-Disposition"]
                )
            for bad in (
                url.replace("&s=", "&s=0"),
                url.split("?")[0],
                url.replace(row.id, row.id[:-1] + ("x" if row.id[-1] != "x" else "y")),
                url.replace("e=", "e=9"),
            ):
                async with s.get(bad) as r:
                    assert r.status == 404 and "重新导出" in await r.text()
            async with s.get(f"http://127.0.0.1:{bot.http_port}/files/") as r:
                assert r.status == 404  # nothing listable
            clock.advance(hours=25)
            async with s.get(url) as r:
                assert r.status == 404
    finally:
        await bot.stop()
