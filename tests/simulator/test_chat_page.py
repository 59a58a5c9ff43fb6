"""The chat page in headless Chromium (playwright's Python package, Debian's /usr/bin/chromium)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import urllib.request

import pytest

CHROMIUM = os.environ.get("SIM_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
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
    req = urllib.request.Request(
        url, data=json.dumps(body, ensure_ascii=False).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=5) as r:
        return json.load(r)


def test_chat_page_round_trip_with_echo_bot(fake, echo):
    if not os.path.exists(CHROMIUM):
        pytest.fail(
            f"Chromium is missing at {CHROMIUM}: install it with `apt-get install -y chromium` "
            "(do not use `playwright install`)",
            pytrace=False,
        )
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
    _post(
        msg.payload["sessionWebhook"],
        {
            "msgtype": "markdown",
            "markdown": {
                "title": "帮助",
                "text": (
                    "#### 可用命令\n\n- **/帮助**：查看命令\n- /我是谁：查看身份\n\n"
                    "1. 第一步\n2. 第二步\n\n> 提示：<img src=x onerror=alert(1)> 详见 [说明](https://example.invalid/doc)"
                ),
            },
        },
    )
    page.locator(".msg.bot h6, .msg.bot h5, .msg.bot h4, .msg.bot h3").filter(has_text="可用命令").wait_for(
        timeout=5000
    )
    md = page.locator(".msg.bot .md").last
    assert md.locator("li").count() == 4 and md.locator("strong").first.inner_text() == "/帮助"
    assert md.locator("img").count() == 0 and "<img src=x" in md.inner_text()
    assert md.locator("a[href='https://example.invalid/doc']").inner_text() == "说明"

    # A proactive group send appears in that group too.
    token = _post(
        fake.base_url + "/v1.0/oauth2/accessToken", {"appKey": fake.client_id, "appSecret": fake.client_secret}
    )["accessToken"]
    req = urllib.request.Request(
        fake.base_url + "/v1.0/robot/groupMessages/send",
        data=json.dumps(
            {
                "msgKey": "sampleMarkdown",
                "robotCode": fake.client_id,
                "openConversationId": "cid-reviewer-group",
                "msgParam": json.dumps({"title": "提醒", "text": "请在 **4 月 30 日**前完成登记"}, ensure_ascii=False),
            },
            ensure_ascii=False,
        ).encode(),
        headers={"Content-Type": "application/json", "x-acs-dingtalk-access-token": token},
    )
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


# ----------------------------------------------------------------------------- cards and the markdown subset

CARD_SCREENSHOT = "/tmp/sim_page_card.png"
MD_SAMPLES = [
    "#### 本周任务\n\n1. **初中·化学** 酸碱盐\n2. *小学·语文* 古诗\n\n> 截止 12月5日\n\n- [资源链接](https://e.invalid/r/1)",
    "账号 SunYue_HZ，手机 139\\*\\*1111，`code` ~~删~~ <b>粗</b> __下划__ a\\b",
    "第一行  \n第二行\n\n![](https://e.invalid/p.png) 图后文字",
]


def _token(fake) -> str:
    return _post(
        fake.base_url + "/v1.0/oauth2/accessToken", {"appKey": fake.client_id, "appSecret": fake.client_secret}
    )["accessToken"]


def _openapi(fake, token: str, path: str, body: dict) -> dict:
    req = urllib.request.Request(
        fake.base_url + path,
        data=json.dumps(body, ensure_ascii=False).encode(),
        headers={"Content-Type": "application/json", "x-acs-dingtalk-access-token": token},
    )
    with urllib.request.urlopen(req, timeout=5) as r:
        return json.load(r)


def test_cards_and_markdown_on_the_chat_page(fake, card_bot):
    from simulator.markdown import to_plain_text
    from tests.simulator.cardkit import card_body, robot_space

    if not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium is missing at {CHROMIUM}", pytrace=False)
    token = _token(fake)
    for md in MD_SAMPLES:
        _openapi(
            fake,
            token,
            "/v1.0/robot/oToMessages/batchSend",
            {
                "robotCode": fake.client_id,
                "userIds": ["t-hz-001"],
                "msgKey": "sampleMarkdown",
                "msgParam": json.dumps({"title": "样例", "text": md}, ensure_ascii=False),
            },
        )
    _openapi(
        fake, token, "/v1.0/card/instances/createAndDeliver", {**card_body(fake, "trk-page"), **robot_space("t-hz-001")}
    )
    with _browser_page() as page:
        page.goto(fake.base_url + "/?user=t-hz-001&conv=p2p")
        card = page.locator(".msg.bot[data-card='trk-page']")
        card.wait_for(timeout=5000)
        # What the page shows of each markdown sample is what to_plain_text says a person reads.
        shown = page.locator(".msg.bot .md").all_inner_texts()
        for md, text in zip(MD_SAMPLES, shown, strict=False):
            # (list markers are CSS ::marker, not text; an image is an <img>, checked below)
            read = re.sub(r"^(• |\d+\. )", "", to_plain_text(md), flags=re.MULTILINE).replace("[图片]", "")
            assert _words(text) == _words(read), md
        first = page.locator(".msg.bot .md").first
        assert first.locator("h6, h5, h4, h3").inner_text() == "本周任务"
        assert first.locator("ol li").count() == 2 and first.locator("strong").inner_text() == "初中·化学"
        assert first.locator("em").inner_text() == "小学·语文" and first.locator("blockquote").count() == 1
        assert first.locator("a[href='https://e.invalid/r/1']").inner_text() == "资源链接"
        second = page.locator(".msg.bot .md").nth(1)
        assert second.locator("code, del, b, u, strong").count() == 0
        assert "SunYue_HZ" in second.inner_text() and "a\\b" in second.inner_text()
        assert second.locator("em").inner_text() == "\\"  # 139\*\*1111: the stars still emphasise
        assert page.locator(".msg.bot .md").nth(2).locator("img[src='https://e.invalid/p.png']").count() == 1

        assert card.locator(".card-title").inner_text() == "审核任务（2 项）"
        assert card.locator(".md strong").inner_text() == "初中·化学"
        assert card.locator(".card-btn").all_inner_texts() == ["通过", "退回", "通过"]
        card.scroll_into_view_if_needed()
        page.screenshot(path=CARD_SCREENSHOT.replace(".png", "_buttons.png"))
        card.locator(".card-btn[data-action='reject-17']").click()
        card.locator(".task-status").filter(has_text="已退回（t-hz-001）").wait_for(timeout=5000)
        card = page.locator(".msg.bot[data-card='trk-page']")
        assert card.count() == 1 and card.locator(".card-btn").all_inner_texts() == ["通过"]
        page.screenshot(path=CARD_SCREENSHOT, full_page=True)
    msg, raw = card_bot.presses[0]
    assert msg.user_id == "t-hz-001" and raw["spaceId"] == "cid-p2p-t-hz-001"
    assert msg.content["cardPrivateData"]["actionIds"] == ["reject-17"]


def _words(text: str) -> str:
    return " ".join(text.split())
