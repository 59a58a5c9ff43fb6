"""The reminder card on the fake DingTalk's chat page in headless Chromium: before and after 收到 is
clicked (the click presses as the selected user; the press reaches the bot through the real SDK).
Screenshots: /tmp/reminder_card_before.png, /tmp/reminder_card_after.png."""

from __future__ import annotations

import asyncio
import os
from datetime import datetime

import pytest

from bot.clock import SHANGHAI, ManualClock
from domain.roster import Role
from tests.reminders.conftest import reminder_to, seed
from tests.simulator.test_chat_page import CHROMIUM, _browser_page

BEFORE, AFTER = "/tmp/reminder_card_before.png", "/tmp/reminder_card_after.png"


def _click_ack(base_url: str, card: str) -> tuple[list[str], list[str]]:
    with _browser_page() as page:
        page.goto(base_url + "/?user=t-hz-001&conv=p2p")
        shown = page.locator(f".msg.bot[data-card='{card}']")
        shown.wait_for(timeout=5000)
        shown.scroll_into_view_if_needed()
        before = shown.locator(".card-btn").all_inner_texts()
        page.screenshot(path=BEFORE)
        shown.locator(".card-btn[data-action='ack:2']").click()
        shown = page.locator(f".msg.bot[data-card='{card}']")
        shown.locator(".task-status").filter(has_text="已收到").wait_for(timeout=10000)
        shown.scroll_into_view_if_needed()
        page.screenshot(path=AFTER)
        return before, shown.locator(".card-btn").all_inner_texts()


async def test_reminder_card_before_and_after_pressing_ack(start_bot, sim):
    if not await asyncio.to_thread(os.path.exists, CHROMIUM):
        pytest.fail(f"Chromium is missing at {CHROMIUM}", pytrace=False)
    bot = await start_bot(clock=ManualClock(datetime(2026, 4, 16, 9, 0, tzinfo=SHANGHAI)))  # roster T-14
    await seed(bot.db, [(Role.ADMIN, "杭州市/西湖区", "t-hz-001")])
    await bot.scheduler.run_now("reminders")
    card, _ = await reminder_to(sim, "t-hz-001", "本县名单补齐")
    before, after = await asyncio.to_thread(_click_ack, sim.base_url, card)
    assert before == ["收到", "已完成"] and after == ["已完成"]
