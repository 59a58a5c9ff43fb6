"""Shared fixtures: real databases (SQLite file and PostgreSQL), the fake DingTalk
server, and a running bot connected to it through the real SDK.

PostgreSQL: ``TEST_PG_URL`` (default ``postgresql+asyncpg://postgres@127.0.0.1:5432/test``).
A migrated template database is made once per run; each test gets a fresh copy.
If PostgreSQL is down the PostgreSQL tests fail with how to start it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import uuid
from pathlib import Path

os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
os.environ.setdefault("no_proxy", "127.0.0.1,localhost")

# With PYTHONDONTWRITEBYTECODE set (as on the CI machine) every interpreter the suite starts (~50 bot
# processes, CLI runs, migration children) and every pytest worker compiled the project and the tests
# from source again: ~0.25 s of CPU per process, ~3 s per worker. Their bytecode goes to a cache
# outside the source tree instead (the tree stays free of __pycache__, which is what that setting is for).
if os.environ.get("PYTHONDONTWRITEBYTECODE"):
    import sys
    import tempfile

    del os.environ["PYTHONDONTWRITEBYTECODE"]
    os.environ.setdefault("PYTHONPYCACHEPREFIX", str(Path(tempfile.gettempdir()) / f"zj-bot-pycache-{os.getuid()}"))
    sys.dont_write_bytecode = False
    sys.pycache_prefix = os.environ["PYTHONPYCACHEPREFIX"]

import pytest

PG_URL = os.environ.get("TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
_RUN = uuid.uuid4().hex[:8]


def _pg_dsn(url: str, database: str | None = None) -> str:
    plain = url.replace("postgresql+asyncpg://", "postgresql://")
    if database:
        plain = plain.rsplit("/", 1)[0] + "/" + database
    return plain


async def _pg_admin(sql: str) -> None:
    import asyncpg

    try:
        conn = await asyncpg.connect(_pg_dsn(PG_URL), timeout=5)
    except Exception as exc:  # pragma: no cover - environment problem
        pytest.fail(
            f"PostgreSQL not reachable at {PG_URL} ({exc!r}); start it with "
            "`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`",
            pytrace=False,
        )
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _blocking(coro) -> object:
    """Run a coroutine to completion on a private loop in a thread (safe inside a running loop)."""
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


# The longest tests (bot processes killed and restarted, several instances, property searches) start first,
# so that with `pytest -n auto` the other workers fill the time they take instead of waiting for them at the end
# (pyproject.toml runs xdist with --dist worksteal: the other worker takes the short tests queued behind them).
LONG_FIRST = (
    "tests/core/test_crash.py",
    "tests/core/test_instances.py",
    "tests/reminders/test_reminders_process.py",
    "tests/scores/test_activity_batch.py",
    "tests/core/test_fuzz.py",
    "tests/core/test_demo.py",
    "tests/simulator/test_chat_page.py",
    "tests/core/test_backup.py",
    "tests/core/test_chat_page.py",
    "tests/core/test_startup_memory.py",
    "tests/review/test_matching.py",
    "tests/reminders/test_reminders_year.py",
    "tests/core/test_process.py",
)


def pytest_collection_modifyitems(config, items) -> None:
    def rank(item) -> int:
        path = item.nodeid.split("::", 1)[0]
        return LONG_FIRST.index(path) if path in LONG_FIRST else len(LONG_FIRST)

    items.sort(key=rank)  # stable: the rest keep their order


def pytest_collection_finish(session) -> None:
    """What imports and collection built (modules, classes, ~300 k objects) lives as long as the worker: out of
    the garbage collector's full passes, as run_bot.py does after start-up. Those passes over it cost a worker
    ~5 s of CPU a run, and pytest's five at a worker's end ~2 s more."""
    import gc

    gc.collect()
    gc.freeze()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    from storage.migrate import upgrade

    path = tmp_path_factory.mktemp("tmpl") / "template.sqlite3"
    _blocking(upgrade(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def pg_template() -> str:
    from storage.migrate import upgrade

    name = f"bot_tmpl_{_RUN}"
    _blocking(_pg_admin(f'CREATE DATABASE "{name}"'))
    _blocking(upgrade(PG_URL.rsplit("/", 1)[0] + "/" + name))
    yield name
    _blocking(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


class _FreshPg:
    """Copies of the migrated template made ahead, on a thread of their own. ``CREATE DATABASE … TEMPLATE``
    takes ~0.6 s here (mostly the server's fsync): made while the previous tests run, it no longer adds to
    each PostgreSQL test. One thread does every create and drop, so no two touch the template at once."""

    AHEAD = 2

    def __init__(self, template: str) -> None:
        import collections
        import concurrent.futures

        self.template = template
        self.worker = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="pg-fresh")
        self.ready = collections.deque(self._make() for _ in range(self.AHEAD))

    def _make(self):
        name = f"bot_t_{_RUN}_{uuid.uuid4().hex[:8]}"
        sql = f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"'
        return self.worker.submit(lambda: (asyncio.run(_pg_admin(sql)), name)[1])

    async def take(self) -> tuple[str, str]:
        made = self.ready.popleft()
        self.ready.append(self._make())
        name = await asyncio.wrap_future(made)
        return name, PG_URL.rsplit("/", 1)[0] + "/" + name

    def drop(self, name: str) -> None:
        self.worker.submit(asyncio.run, _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def close(self) -> None:
        for made in self.ready:
            with contextlib.suppress(Exception):  # PostgreSQL went away: nothing left to drop
                self.drop(made.result())
        self.worker.shutdown(wait=True)


@pytest.fixture(scope="session")
def fresh_pg(pg_template):
    maker = _FreshPg(pg_template)
    yield maker
    maker.close()  # before pg_template drops the template


@pytest.fixture(params=["sqlite", "postgres"])
async def database_url(request, tmp_path) -> str:
    """A migrated, empty database: a SQLite file, then a PostgreSQL database."""
    if request.param == "sqlite":
        path = tmp_path / "bot.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite+aiosqlite:///{path}"
    else:
        maker = request.getfixturevalue("fresh_pg")
        name, url = await maker.take()
        yield url
        maker.drop(name)


@pytest.fixture
async def pg_url(fresh_pg) -> str:
    """A fresh migrated PostgreSQL database (for tests that need both databases at once)."""
    name, url = await fresh_pg.take()
    yield url
    fresh_pg.drop(name)


@pytest.fixture
async def sqlite_url(tmp_path, sqlite_template) -> str:
    path = tmp_path / "bot.sqlite3"
    shutil.copy(sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
async def db(database_url):
    from storage.db import Database

    database = Database(database_url)
    yield database
    await database.dispose()


@pytest.fixture
def cli(tmp_path, monkeypatch):
    """``cli("scores", "teachers", path)`` runs ``run_bot.py`` in-process on a SQLite file of the test's own;
    ``cli.query(lambda uow: ...)`` reads that database afterwards, ``cli.tmp`` is the test's directory."""
    import run_bot
    from storage.db import Database

    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("BOT_DATA_DIR", str(tmp_path / "var"))

    def run(*argv: str) -> int:
        return run_bot.main(list(argv))

    async def _query(fn):
        db = Database(url)
        try:
            async with db.unit_of_work() as uow:
                return await fn(uow)
        finally:
            await db.dispose()

    run.query = lambda fn: asyncio.run(_query(fn))
    run.tmp = tmp_path
    return run


# --- the fake DingTalk and a running bot ---------------------------------------------


@pytest.fixture(autouse=True)
def _forget_finished_web_apps():
    """aiohttp memoises each handler's middleware chain in a module-level LRU cache (1024 entries) keyed by
    the handler and its application, so every fake DingTalk and bot HTTP app a test started stayed alive
    through it with all they hold (records, the bot, its engines): a worker's heap grew to ~650 k objects and
    each full garbage collection to ~0.7 s. Emptied after each test (a cache: nothing else changes)."""
    yield
    from aiohttp import web_app

    cache = getattr(web_app, "_cached_build_middleware", None)
    if cache is not None:
        cache.cache_clear()


@pytest.fixture
def sim():
    from simulator.server import FakeDingTalk

    server = FakeDingTalk()
    server.start_in_thread()
    yield server
    server.stop()


@pytest.fixture
def make_settings(tmp_path, sqlite_template):
    """Settings of a test's bot; by default its database is ``bot.sqlite3`` in the test's directory, a copy
    of the migrated template (made on first use, kept for a restart): start-up finds the schema current.
    Migrating an empty database at start-up is tested where it is the point (test_startup_memory.py,
    test_process.py)."""
    from bot.config import load_settings

    def build(sim=None, **overrides):
        path = tmp_path / "bot.sqlite3"
        if "database_url" not in overrides and not path.exists():
            shutil.copy(sqlite_template, path)
        values = dict(
            database_url=f"sqlite+aiosqlite:///{path}",
            bot_http_port=0,
            bot_data_dir=str(tmp_path / "var"),
            bot_link_secret="test-secret",
            bot_superadmins=["op-zj-001"],
            bot_handler_timeout=10.0,
        )
        if sim is not None:
            values.update(
                dingtalk_client_id=sim.client_id,
                dingtalk_client_secret=sim.client_secret,
                dingtalk_openapi_endpoint=sim.base_url,
            )
        values.update(overrides)
        return load_settings(**values)

    return build


@pytest.fixture
async def start_bot(sim, make_settings):
    """``bot = await start_bot(**settings)``: a BotApp connected to ``sim``; stopped after the test."""
    from bot.app import BotApp

    bots = []

    async def start(*, clock=None, extra_routers=(), wait_connected=True, **overrides):
        settings = make_settings(sim, **overrides)
        bot = BotApp(settings, clock=clock, extra_routers=list(extra_routers))
        await bot.start()
        bots.append(bot)
        if wait_connected:
            await asyncio.to_thread(sim.wait_connected, 10)
        return bot

    yield start
    for b in bots:
        await b.stop()


class Chat:
    """Say something as a simulated user and get the bot's reply text."""

    def __init__(self, sim):
        self.sim = sim

    async def say(
        self, text: str, *, user: str = "op-zj-001", conversation: str = "cid-admin-group", timeout: float = 10.0, **kw
    ) -> str:
        sim = self.sim
        u = sim.user(user)
        conv = (
            sim.group(conversation) if conversation.startswith("cid-") and "p2p" not in conversation else sim.private(u)
        )
        msg_id = await asyncio.to_thread(sim.send_message, text, user=u, conversation=conv, **kw)
        record = await asyncio.to_thread(sim.wait_reply, msg_id, timeout)
        return sim.text_of(record)

    async def private_to(self, staff_id: str, contains: str, *, clean=lambda t: t, timeout: float = 10.0) -> str:
        """The next 1:1 message the bot sends on its own to ``staff_id`` whose (cleaned) text
        contains ``contains``; returns the cleaned text."""
        sim = self.sim

        def match(r):
            return (
                r.kind == "oto_send"
                and staff_id in (r.payload.get("userIds") or [])
                and contains in clean(sim.text_of(r))
            )

        rec = await asyncio.to_thread(sim.wait_for, match, timeout)
        return clean(sim.text_of(rec))

    async def send(self, text: str, *, user: str = "op-zj-001", conversation: str = "cid-admin-group", **kw) -> str:
        sim = self.sim
        u = sim.user(user)
        conv = sim.group(conversation) if "p2p" not in conversation else sim.private(u)
        return await asyncio.to_thread(sim.send_message, text, user=u, conversation=conv, **kw)


@pytest.fixture
def chat(sim) -> Chat:
    return Chat(sim)


@pytest.fixture
async def bound_bot(start_bot, chat):
    """A bot whose three groups are bound to their roles by the provincial operator."""
    bot = await start_bot()
    for cid, role in (
        ("cid-admin-group", "管理员群"),
        ("cid-trainer-group", "讲师群"),
        ("cid-reviewer-group", "审核员群"),
    ):
        reply = await chat.say(f"/绑定 {role}", conversation=cid)
        assert "已把本群" in reply, reply
    return bot
