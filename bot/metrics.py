"""Prometheus metrics of one bot instance (own registry, so tests can run several)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = ["CONTENT_TYPE_LATEST", "Metrics"]

disable_created_metrics()


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.messages = Counter(
            "bot_messages_total", "Messages handled, by outcome.", ["outcome"], registry=self.registry
        )
        self.errors = Counter("bot_errors_total", "Unexpected errors while handling messages.", registry=self.registry)
        self.latency = Histogram(
            "bot_handling_seconds",
            "Time from receipt to reply sent.",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry,
        )
        self.outbox_depth = Gauge("bot_outbox_depth", "Messages waiting in the outbox.", registry=self.registry)
        self.sends = Counter("bot_sends_total", "Proactive sends, by result.", ["result"], registry=self.registry)
        self.reconnects = Counter("bot_stream_connects_total", "Stream connections opened.", registry=self.registry)
        self.connected = Gauge("bot_stream_connected", "1 when the stream is connected.", registry=self.registry)

    def observe(self, outcome: str, command: str | None, seconds: float) -> None:
        self.messages.labels(outcome=outcome).inc()
        if outcome in ("error", "timeout"):
            self.errors.inc()
        if outcome != "duplicate":
            self.latency.observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
