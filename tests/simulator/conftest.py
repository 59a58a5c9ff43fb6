"""Fixtures of the simulator tests: a fake DingTalk on a random port and the echo bot on the real SDK."""

from __future__ import annotations

import os

os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
os.environ.setdefault("no_proxy", "127.0.0.1,localhost")

import pytest


@pytest.fixture
def fake():
    from simulator.server import FakeDingTalk

    server = FakeDingTalk().start_in_thread()
    yield server
    server.stop()


@pytest.fixture
def echo(fake):
    """The echo bot (real dingtalk-stream SDK) connected to ``fake``."""
    from simulator.echo_bot import EchoBot

    bot = EchoBot().run_in_thread(fake.base_url, fake.client_id, fake.client_secret)
    fake.wait_connected(10)
    yield bot
    bot.stop()


@pytest.fixture
def card_bot(fake):
    """The echo bot plus a card-callback handler (real SDK): yields the handler, which records presses
    and ACKs with the verdict as the card's ``status``."""
    from simulator.cards import CARD_CALLBACK_TOPIC
    from simulator.echo_bot import EchoBot
    from tests.simulator.cardkit import ReviewCardHandler

    handler = ReviewCardHandler()
    bot = EchoBot(handlers={CARD_CALLBACK_TOPIC: handler}).run_in_thread(
        fake.base_url, fake.client_id, fake.client_secret
    )
    fake.wait_connected(10)
    yield handler
    bot.stop()
