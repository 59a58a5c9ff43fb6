"""``python -m simulator``: run the fake DingTalk standalone and print the chat page URL.

    python -m simulator [--port 8790] [--host 127.0.0.1] [--echo]

``--echo`` also starts the echo bot (``echo: <text>``) so the page can be tried alone.
Point a bot at it with client id/secret ``sim-client-id`` / ``sim-client-secret`` and
``DINGTALK_OPENAPI_ENDPOINT=http://127.0.0.1:8790``.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m simulator", description="本地模拟钉钉服务器（含聊天页）")
    parser.add_argument("--host", default="127.0.0.1", help="listen address (0.0.0.0: reachable from phones)")
    parser.add_argument("--port", type=int, default=8790, help="listen port (default 8790)")
    parser.add_argument("--client-id", default="sim-client-id")
    parser.add_argument("--client-secret", default="sim-client-secret")
    parser.add_argument(
        "--ping-interval", type=float, default=None, help="push a SYSTEM ping every N seconds (default: off)"
    )
    parser.add_argument("--echo", action="store_true", help="also run the echo bot against it")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")

    from simulator.server import FakeDingTalk

    sim = FakeDingTalk(
        host=args.host,
        port=args.port,
        client_id=args.client_id,
        client_secret=args.client_secret,
        ping_interval=args.ping_interval,
    )
    sim.start_in_thread()
    echo = None
    if args.echo:
        from simulator.echo_bot import EchoBot

        echo = EchoBot().run_in_thread(sim.base_url, sim.client_id, sim.client_secret)
    print(f"钉钉机器人模拟器已启动。聊天页：{sim.base_url}/", flush=True)
    print(
        f"Fake DingTalk at {sim.base_url}  (client id {sim.client_id!r}, secret {sim.client_secret!r}); "
        f"chat page {sim.base_url}/  — Ctrl-C to stop",
        flush=True,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        print("stopping…", flush=True)
        if echo:
            echo.stop()
        sim.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
