"""Roster end-to-end fixtures: a bound bot, helpers to say things and read private messages."""

from __future__ import annotations

import pytest

ADMIN_G, TRAINER_G, REVIEWER_G = "cid-admin-group", "cid-trainer-group", "cid-reviewer-group"


def plain(text: str) -> str:
    """Reply text without DingTalk-markdown escapes (138\\*\\*\\*\\*1234 → 138＊＊＊＊1234)."""
    return text.replace("\\", "")


class Roster:
    """Say things as simulated users; wait for 1:1 messages the bot sends on its own."""

    def __init__(self, chat, sim):
        self.chat = chat
        self.sim = sim

    async def say(self, text: str, *, user: str = "op-zj-001", conversation: str = ADMIN_G, **kw) -> str:
        if conversation == "p2p":
            conversation = f"cid-p2p-{user}"
        return plain(await self.chat.say(text, user=user, conversation=conversation, **kw))

    async def private_to(self, staff_id: str, contains: str, timeout: float = 10.0) -> str:
        return await self.chat.private_to(staff_id, contains, clean=plain, timeout=timeout)


@pytest.fixture
def roster(chat, sim) -> Roster:
    return Roster(chat, sim)


@pytest.fixture
async def hz_bot(bound_bot, roster):
    """Bound groups; 陈建国 is 杭州市's operator, 林晓燕 宁波市's."""
    assert "已授权" in await roster.say("/授权 @陈建国 杭州市")
    assert "已授权" in await roster.say("/授权 @林晓燕 宁波市")
    return bound_bot
