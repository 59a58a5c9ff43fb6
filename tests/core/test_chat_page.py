"""A person uses the simulator's chat page in headless Chromium and talks to the real bot."""

from __future__ import annotations

import os
import shutil

import pytest

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


async def test_chat_page_talks_to_the_bot(start_bot, sim, tmp_path):
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):  # noqa: ASYNC240 - a check before the test
        pytest.fail(
            "Chromium is missing: run `apt-get install -y chromium` (scripts/test-env.sh does it)", pytrace=False
        )
    from playwright.async_api import async_playwright, expect

    await start_bot()
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = await browser.new_page(viewport={"width": 420, "height": 860})
            await page.goto(sim.base_url + "/")
            await page.select_option("#user-select", "op-zj-001")
            await page.select_option("#conv-select", "cid-reviewer-group")
            await page.fill("#input", "/绑定 审核员群")
            await page.press("#input", "Enter")
            await expect(page.locator(".msg.bot").last).to_contain_text("已把本群", timeout=10000)
            await page.fill("#input", "/帮助")
            await page.click("#send")
            await expect(page.locator(".msg.bot").last).to_contain_text("审核员群可用命令", timeout=10000)
            await page.screenshot(path=str(tmp_path / "chat.png"), full_page=True)
        finally:
            await browser.close()
