"""Configuration: environment variables, optionally a TOML file.

Every setting is read from the environment variable of the same name
(``DINGTALK_CLIENT_ID``, ``DATABASE_URL`` ...). ``BOT_CONFIG_FILE`` may name a
TOML file whose top-level keys are the same names in lower case
(``database_url = "..."``); the environment wins over the file.

A bad setting raises :class:`ConfigError` with one line that names the
setting; ``run_bot.py`` prints it and exits with code 2. :func:`check_setup`
goes further before anything is touched (no migration, no connection): the
database URL's form and where its file would go, and every file the settings
name or the features read at start-up (roster config and its region file,
the points rule set, the annual cycle).
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

DEFAULT_OPENAPI_ENDPOINT = "https://api.dingtalk.com"


class ConfigError(Exception):
    """A setting is missing or malformed; the message is one line."""


def _env(name: str, default: Any) -> Any:
    return Field(default=default, validation_alias=AliasChoices(name, name.lower()))


class _TomlSource(PydanticBaseSettingsSource):
    """Reads the TOML file named by BOT_CONFIG_FILE (keys: setting names, any case)."""

    def __init__(self, settings_cls: type[BaseSettings], path: str | None):
        super().__init__(settings_cls)
        self._data: dict[str, Any] = {}
        if path:
            p = Path(path)
            if not p.is_file():
                raise ConfigError(f"BOT_CONFIG_FILE: file not found: {path}")
            try:
                raw = tomllib.loads(p.read_text(encoding="utf-8"))
            except tomllib.TOMLDecodeError as exc:
                raise ConfigError(f"BOT_CONFIG_FILE: {path} is not valid TOML: {exc}") from None
            self._data = {k.upper(): v for k, v in raw.items()}

    def get_field_value(self, field, field_name):  # pragma: no cover - unused by __call__
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._data)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True, validate_default=True)

    dingtalk_client_id: str = _env("DINGTALK_CLIENT_ID", "")
    dingtalk_client_secret: str = _env("DINGTALK_CLIENT_SECRET", "")
    dingtalk_robot_code: str = _env("DINGTALK_ROBOT_CODE", "")
    dingtalk_openapi_endpoint: str = _env("DINGTALK_OPENAPI_ENDPOINT", DEFAULT_OPENAPI_ENDPOINT)
    database_url: str = _env("DATABASE_URL", "")
    bot_superadmins: Annotated[list[str], NoDecode] = _env("BOT_SUPERADMINS", "")
    bot_timezone: str = _env("BOT_TIMEZONE", "Asia/Shanghai")
    bot_http_host: str = _env("BOT_HTTP_HOST", "127.0.0.1")
    bot_http_port: int = _env("BOT_HTTP_PORT", 8080)
    # Public base URL of the bot's HTTP server, used in download links.
    bot_public_url: str = _env("BOT_PUBLIC_URL", "")
    # Secret for signed download links; generated per process when empty.
    bot_link_secret: str = _env("BOT_LINK_SECRET", "")
    bot_watchdog_seconds: float = _env("BOT_WATCHDOG_SECONDS", 120.0)
    bot_handler_timeout: float = _env("BOT_HANDLER_TIMEOUT", 20.0)
    bot_dialogue_minutes: int = _env("BOT_DIALOGUE_MINUTES", 30)
    bot_data_dir: str = _env("BOT_DATA_DIR", "var")
    # Roster: approve self-registrations without the city operator.
    roster_auto_approve: bool = _env("ROSTER_AUTO_APPROVE", False)
    # Roster: YAML file overriding quotas, regions file, enumerations (domain/data/roster.yaml).
    roster_config: str = _env("ROSTER_CONFIG", "")
    # Scores: bearer token for POST /api/v1/activity, and its body limit.
    activity_api_token: str = _env("ACTIVITY_API_TOKEN", "")
    activity_max_bytes: int = _env("ACTIVITY_MAX_BYTES", 10 * 1024 * 1024)
    log_level: str = _env("BOT_LOG_LEVEL", "INFO")
    # Sending: calls per second per OpenAPI, the organisation's monthly call cap (standard edition: 10,000),
    # tries before a message is dead-lettered, seconds before a crashed sender's claim is taken over.
    dingtalk_qps: float = _env("DINGTALK_QPS", 20.0)
    dingtalk_monthly_cap: int = _env("DINGTALK_MONTHLY_CAP", 10000)
    outbox_max_attempts: int = _env("OUTBOX_MAX_ATTEMPTS", 8)
    outbox_stale_seconds: float = _env("OUTBOX_STALE_SECONDS", 120.0)
    # Reminders: operator holiday files (<year>.yaml; default domain/data/holidays), the hour of the daily
    # run, the scheduler lease among instances (another takes over within twice this), /催办 per person per day.
    reminder_holidays_dir: str = _env("REMINDER_HOLIDAYS_DIR", "")
    reminder_hour: int = _env("REMINDER_HOUR", 9)
    scheduler_lease_seconds: float = _env("SCHEDULER_LEASE_SECONDS", 30.0)
    reminder_urge_per_day: int = _env("REMINDER_URGE_PER_DAY", 1)
    # Reminders as interactive cards with 收到 / 已完成 buttons (off: markdown with dtmd links, e.g. when the
    # organisation has no card template registered).
    reminder_cards: bool = _env("REMINDER_CARDS", True)

    @classmethod
    def settings_customise_sources(
        cls, settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings
    ):
        toml = _TomlSource(settings_cls, os.environ.get("BOT_CONFIG_FILE"))
        # Priority: explicit arguments (tests, CLI) > environment > TOML file > defaults.
        return (init_settings, env_settings, toml)

    @field_validator("bot_superadmins", mode="before")
    @classmethod
    def _split_ids(cls, v: Any) -> list[str]:
        if isinstance(v, str):
            return [p.strip() for p in v.replace("，", ",").split(",") if p.strip()]
        return list(v or [])

    @field_validator("bot_timezone")
    @classmethod
    def _check_tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r} (e.g. Asia/Shanghai)") from None
        return v

    @field_validator("bot_http_port")
    @classmethod
    def _check_port(cls, v: int) -> int:
        if not 0 <= v <= 65535:
            raise ValueError("must be a port number 0-65535")
        return v

    @field_validator("dingtalk_openapi_endpoint")
    @classmethod
    def _check_endpoint(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return v.rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _check_db(cls, v: str) -> str:
        if v and not v.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("must be sqlite+aiosqlite:///PATH or postgresql+asyncpg://USER@HOST/DB")
        return v

    @field_validator("bot_watchdog_seconds", "bot_handler_timeout")
    @classmethod
    def _positive(cls, v: float) -> float:
        if v <= 0:
            raise ValueError("must be > 0")
        return v

    # -- derived values -------------------------------------------------
    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.bot_timezone)

    @property
    def simulator_mode(self) -> bool:
        """No DingTalk credentials: the bot runs against the local simulator."""
        return not (self.dingtalk_client_id and self.dingtalk_client_secret)

    @property
    def robot_code(self) -> str:
        return self.dingtalk_robot_code or self.dingtalk_client_id

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        path = Path(self.bot_data_dir).resolve() / "bot.sqlite3"
        return f"sqlite+aiosqlite:///{path}"

    @property
    def public_url(self) -> str:
        if self.bot_public_url:
            return self.bot_public_url.rstrip("/")
        host = "127.0.0.1" if self.bot_http_host in ("0.0.0.0", "::", "") else self.bot_http_host
        return f"http://{host}:{self.bot_http_port}"


_ALIASES = {
    name: (field.validation_alias.choices[0] if field.validation_alias else name)  # type: ignore[union-attr]
    for name, field in Settings.model_fields.items()
}


def load_settings(**overrides: Any) -> Settings:
    """Build settings; raise ConfigError with one clear line on a bad value."""
    try:
        return Settings(**{str(_ALIASES.get(k, k)): v for k, v in overrides.items()})
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = err["loc"][0] if err["loc"] else "?"
        name = str(_ALIASES.get(str(loc), str(loc))).upper()
        msg = err["msg"].removeprefix("Value error, ")
        raise ConfigError(f"bad setting {name}: {msg} (got {err.get('input')!r})") from None


_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def check_setup(settings: Settings) -> None:
    """Refuse (ConfigError, one line naming the setting) anything start-up would trip over."""
    name = "DATABASE_URL" if settings.database_url else "BOT_DATA_DIR"
    problem = database_url_problem(settings.resolved_database_url)
    if problem:
        raise ConfigError(f"bad setting {name}: {problem}")
    if settings.activity_max_bytes <= 0:
        raise ConfigError(f"bad setting ACTIVITY_MAX_BYTES: must be > 0 (got {settings.activity_max_bytes})")
    if settings.bot_dialogue_minutes <= 0:
        raise ConfigError(f"bad setting BOT_DIALOGUE_MINUTES: must be > 0 (got {settings.bot_dialogue_minutes})")
    if settings.log_level.upper() not in _LOG_LEVELS:
        raise ConfigError(f"bad setting BOT_LOG_LEVEL: one of {', '.join(_LOG_LEVELS)} (got {settings.log_level!r})")
    if settings.bot_public_url and not settings.bot_public_url.startswith(("http://", "https://")):
        raise ConfigError(
            f"bad setting BOT_PUBLIC_URL: must start with http:// or https:// (got {settings.bot_public_url!r})"
        )
    _check_files(settings)


def database_url_problem(url: str) -> str | None:
    """Why this DATABASE_URL cannot work, or None. Looks at the file system only."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        u = make_url(url)
    except (ArgumentError, ValueError) as exc:
        return f"not a database URL ({exc})"
    if u.drivername == "sqlite+aiosqlite":
        path = u.database or ""
        if not path or path == ":memory:" or path.startswith("file:"):
            return "give a file path: sqlite+aiosqlite:///PATH/bot.sqlite3 (an in-memory database loses everything)"
        p = Path(path)
        if p.is_dir():
            return f"{path} is a directory; name a file in it, e.g. {p / 'bot.sqlite3'}"
        parent = p.parent
        while not parent.exists():
            if parent == parent.parent:
                break
            parent = parent.parent
        if not parent.is_dir():
            return f"cannot create {path}: {parent} is a file, not a directory"
        if not os.access(parent, os.W_OK | os.X_OK) or (p.exists() and not os.access(p, os.W_OK)):
            return f"cannot write {path} (no permission)"
        return None
    if u.drivername == "postgresql+asyncpg":
        if not u.database:
            return "name the database: postgresql+asyncpg://USER@HOST/DB"
        if u.port is not None and not 0 < u.port < 65536:
            return f"bad port {u.port}"
        return None
    return "must be sqlite+aiosqlite:///PATH or postgresql+asyncpg://USER@HOST/DB"


def _check_files(settings: Settings) -> None:
    from domain.calendar import load_cycle
    from domain.regions import RegionFileError
    from domain.roster.config import RosterConfigError, load_roster_config
    from domain.scores import RuleFileError, default_rules

    try:
        load_roster_config(settings.roster_config or None).load_regions()
    except (RosterConfigError, RegionFileError) as exc:
        raise ConfigError(f"bad setting ROSTER_CONFIG: {_one_line(exc)}") from None
    import yaml

    from domain.base_schools.config import load_definitions
    from domain.review.subjects import load_subject_synonyms

    for what, load, errors in (
        ("rule set", default_rules, (RuleFileError,)),
        ("annual cycle", load_cycle, (ValueError, OSError)),
        ("base-school definitions", load_definitions, (ValueError, OSError)),
        ("subject synonyms", load_subject_synonyms, (ValueError, OSError, yaml.YAMLError)),
    ):
        try:
            load()
        except errors as exc:  # the files shipped with the bot, edited by hand
            raise ConfigError(f"bad {what} file: {_one_line(exc)}") from None


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())
