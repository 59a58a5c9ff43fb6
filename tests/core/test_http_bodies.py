"""Every HTTP body refused cleanly: a 4xx with a short Chinese JSON reason; an unexpected error is
a 500 with a Chinese JSON body whose error reference is in the log; never aiohttp's English page."""

from __future__ import annotations

import json
import logging
import re

import aiohttp
import pytest
from aiohttp import web

from bot.http import MAX_DEPTH, errors_as_json, parse_json_items

CHINESE = re.compile(r"[\u4e00-\u9fff]")
TOKEN = {"Authorization": "Bearer tok-9"}


def _chinese_json(status: int, body: bytes, expected: int) -> dict:
    assert status == expected, body[:200]
    data = json.loads(body)
    assert CHINESE.search(data["error"]) and "Traceback" not in data["error"], data
    assert not re.search(r"\b(Error|Internal|Server got)\b", data["error"]), data
    return data


BAD_BODIES = [
    ("[" * 100_000, "嵌套"),
    ("[" * 20_000 + "]" * 20_000, "嵌套"),
    ("[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5), "嵌套"),
    ('{"a": ' * 5000 + "1" + "}" * 5000 + "\n" + '{"a": ' * 5000 + "1" + "}" * 5000, "NDJSON"),
    ("[1, 2", "JSON 格式错误"),
    ("", "空的"),
    ("   \n\n ", "空的"),
]


@pytest.mark.parametrize(("text", "needle"), BAD_BODIES)
def test_parse_refuses_with_a_chinese_reason(text, needle):
    with pytest.raises(ValueError, match=needle):
        parse_json_items(text.encode())


def test_parse_marks_nested_and_broken_lines():
    body = '{"a": 1}\n' + "[" * 5000 + "\n" + '{"b": 2}\n{oops\n'
    items, bad = parse_json_items(body.encode())
    assert items[0] == {"a": 1} and items[2] == {"b": 2} and items[1] is None and items[3] is None
    assert [i for i, _r in bad] == [1, 3] and "嵌套" in bad[0][1] and bad[1][1] == "第 4 行不是有效的 JSON"
    with pytest.raises(ValueError, match="UTF-8"):
        parse_json_items(b"\xff\xfe[1]")


async def test_activity_route_refuses_every_bad_body(start_bot, sim):
    bot = await start_bot(activity_api_token="tok-9", activity_max_bytes=300_000, wait_connected=False)
    url = f"http://127.0.0.1:{bot.http_port}"
    async with aiohttp.ClientSession() as http:
        for text, _needle in BAD_BODIES:
            async with http.post(f"{url}/api/v1/activity", data=text.encode(), headers=TOKEN) as r:
                _chinese_json(r.status, await r.read(), 400)
        for raw in (b"\xff\xfe\x00[", b"[\xe4\xb8]"):
            async with http.post(f"{url}/api/v1/activity", data=raw, headers=TOKEN) as r:
                assert "UTF-8" in _chinese_json(r.status, await r.read(), 400)["error"]
        async with http.post(f"{url}/api/v1/activity", data=b"[" + b"1," * 200_000 + b"1]", headers=TOKEN) as r:
            _chinese_json(r.status, await r.read(), 413)

        async def chunks():
            for _ in range(10):
                yield b" " * 50_000

        async with http.post(f"{url}/api/v1/activity", data=chunks(), headers=TOKEN) as r:  # chunked, no length
            _chinese_json(r.status, await r.read(), 413)
        async with http.post(f"{url}/api/v1/activity", data=b"[]") as r:
            _chinese_json(r.status, await r.read(), 401)
        # Routes and methods that do not exist: Chinese JSON too.
        async with http.get(f"{url}/api/v1/activity") as r:
            assert "POST" in r.headers.get("Allow", "")
            _chinese_json(r.status, await r.read(), 405)
        async with http.post(f"{url}/no/such/route", data=b"[") as r:
            _chinese_json(r.status, await r.read(), 404)
        async with http.get(f"{url}/healthz") as r:  # still healthy
            assert r.status in (200, 503) and (await r.json())["database"] == "ok"


async def test_unexpected_error_is_a_chinese_500_with_a_logged_reference(aiohttp_client, caplog):
    async def boom(request: web.Request) -> web.Response:
        raise RuntimeError("secret internal detail")

    app = web.Application(middlewares=[errors_as_json])
    app.router.add_post("/boom", boom)
    client = await aiohttp_client(app)
    with caplog.at_level(logging.ERROR, logger="bot.http"):
        r = await client.post("/boom", data=b"{}")
        body = await r.read()
    data = _chinese_json(r.status, body, 500)
    assert "secret" not in body.decode() and data["ref"] in data["error"]
    assert any(data["ref"] in rec.getMessage() and rec.exc_info for rec in caplog.records)
