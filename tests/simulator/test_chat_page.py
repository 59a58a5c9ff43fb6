"""The chat page in headless Chromium (playwright's Python package, Debian's /usr/bin/chromium)."""
from __future__ import annotations

import contextlib
import json
import os
import urllib.request

import pytest

CHROMIUM = os.environ.get("SIM_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-sync"]
SCREENSHOT = "/tmp/sim_page.png"


@contextlib.contextmanager
def _browser_page():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield browser.new_page(viewport={"width": 420, "height": 820}, locale="zh-CN")
        finally:
            browser.close()


def _post(url: str, body: dict) -> dict:
    req = urllib.request.Request(url, data=json.dumps(body, ensure_ascii=False).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as r:
        return json.load(r)


def test_chat_page_round_trip_with_echo_bot(fake, echo):
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium is missing at {CHROMIUM}: install it with `apt-get install -y chromium` "
                    "(do not use `playwright install`)", pytrace=False)
    with _browser_page() as page:
        _drive(fake, echo, page)


def _drive(fake, echo, page):
    page.goto(fake.base_url + "/")
    assert page.title() == "钉钉机器人模拟器"
    page.wait_for_selector("#user-select option", state="attached")
    assert page.locator("#banner").is_hidden()
    page.select_option("#user-select", "t-hz-001")
    page.select_option("#conv-select", "cid-reviewer-group")
    page.fill("#input", "/帮助")
    page.press("#input", "Enter")
    bot = page.locator(".msg.bot").filter(has_text="echo: /帮助")
    bot.wait_for(timeout=5000)
    assert page.locator(".msg.user.mine").first.inner_text().count("/帮助") == 1

    # A markdown reply (as the real bot sends) is rendered, and HTML in it is escaped.
    msg = next(r for r in fake.records if r.kind == "message" and r.conversation_id == "cid-reviewer-group")
    _post(msg.payload["sessionWebhook"], {"msgtype": "markdown", "markdown": {"title": "帮助", "text": (
        "#### 可用命令\n\n- **/帮助**：查看命令\n- /我是谁：查看身份\n\n"
        "1. 第一步\n2. 第二步\n\n> 提示：<img src=x onerror=alert(1)> 详见 [说明](https://example.invalid/doc)")}})
    page.locator(".msg.bot h6, .msg.bot h5, .msg.bot h4, .msg.bot h3").filter(has_text="可用命令").wait_for(timeout=5000)
    md = page.locator(".msg.bot .md").last
    assert md.locator("li").count() == 4 and md.locator("strong").first.inner_text() == "/帮助"
    assert md.locator("img").count() == 0 and "<img src=x" in md.inner_text()
    assert md.locator("a[href='https://example.invalid/doc']").inner_text() == "说明"

    # A proactive group send appears in that group too.
    token = _post(fake.base_url + "/v1.0/oauth2/accessToken",
                  {"appKey": fake.client_id, "appSecret": fake.client_secret})["accessToken"]
    req = urllib.request.Request(fake.base_url + "/v1.0/robot/groupMessages/send", data=json.dumps({
        "msgKey": "sampleMarkdown", "robotCode": fake.client_id, "openConversationId": "cid-reviewer-group",
        "msgParam": json.dumps({"title": "提醒", "text": "请在 **4 月 30 日**前完成登记"}, ensure_ascii=False)},
        ensure_ascii=False).encode(), headers={"Content-Type": "application/json",
                                              "x-acs-dingtalk-access-token": token})
    urllib.request.urlopen(req, timeout=5).close()
    page.locator(".msg.bot").filter(has_text="主动消息").filter(has_text="4 月 30 日").wait_for(timeout=5000)
    page.screenshot(path=SCREENSHOT, full_page=False)

    # Bot goes away: the banner says so.
    echo.stop()
    page.locator("#banner").wait_for(state="visible", timeout=5000)
    assert "机器人未连接" in page.locator("#banner").inner_text()
    page.fill("#input", "还在吗")
    page.click("#send")
    page.locator("#hint.error").wait_for(timeout=5000)
    assert "机器人未连接" in page.locator("#hint").inner_text()
