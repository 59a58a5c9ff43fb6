"""Declarative commands: one spec per command; parsing, usage and help come from it.

A feature module declares its commands on a :class:`Router`::

    router = Router("roster")

    @router.command(
        "登记", alias="register", help="登记服务队伍成员",
        args=[Arg("姓名", "name", str, required=False)],
        groups={GroupRole.ADMIN},
    )
    async def register(ctx: Context, args: Args) -> Reply: ...

Arguments may be given positionally or as ``键=值`` (the Chinese label or the
English key); quoted values keep their spaces; full-width ``，：＝`` work too.
A value that fails its converter becomes a usage reply naming the argument.
"""

from __future__ import annotations

import difflib
import enum
import re
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, TypeVar

from bot.incoming import to_halfwidth

if TYPE_CHECKING:
    from bot.context import Context
    from bot.replies import Reply


class GroupRole(str, enum.Enum):
    ADMIN = "admin"
    TRAINER = "trainer"
    REVIEWER = "reviewer"

    @property
    def label(self) -> str:
        return GROUP_LABELS[self]

    @classmethod
    def parse(cls, text: str) -> GroupRole:
        key = text.strip().lower()
        for role, words in _GROUP_WORDS.items():
            if key in words:
                return role
        raise ValueError(text)


GROUP_LABELS = {
    GroupRole.ADMIN: "管理员群",
    GroupRole.TRAINER: "讲师群",
    GroupRole.REVIEWER: "审核员群",
}
_GROUP_WORDS = {
    GroupRole.ADMIN: {"admin", "管理员群", "管理员", "体系管理员", "体系管理员群", "体系管理员省群"},
    GroupRole.TRAINER: {"trainer", "讲师群", "讲师", "培训讲师", "培训师", "省级培训师省群", "培训讲师群"},
    GroupRole.REVIEWER: {"reviewer", "审核员群", "审核员", "资源审核员", "省级资源审核员省群", "资源审核员群"},
}


class ArgError(Exception):
    """A value could not be converted; ``expected`` says what was expected (Chinese)."""

    def __init__(self, expected: str):
        super().__init__(expected)
        self.expected = expected


# --- converters ----------------------------------------------------------------

Converter = Callable[[str], Any]


def text(value: str) -> str:
    if not value.strip():
        raise ArgError("不能为空")
    return value.strip()


def integer(value: str) -> int:
    v = value.strip().lstrip("#").lstrip("＃")
    if not re.fullmatch(r"[+-]?\d+", v):
        raise ArgError("一个整数，如 3")
    return int(v)


def positive_int(value: str) -> int:
    n = integer(value)
    if n <= 0:
        raise ArgError("一个正整数，如 3")
    return n


def iso_date(value: str) -> date:
    v = value.strip().replace("/", "-").replace(".", "-")
    m = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", v) or re.fullmatch(r"(\d{4})年(\d{1,2})月(\d{1,2})日?", v)
    if not m:
        raise ArgError("日期，如 2026-05-10")
    try:
        return date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        raise ArgError("一个存在的日期，如 2026-05-10") from None


def choice(*options: str, **aliases: str) -> Converter:
    """A value from a fixed list; ``aliases`` map extra spellings to an option."""
    table = {o.lower(): o for o in options} | {k.lower(): v for k, v in aliases.items()}

    def convert(value: str) -> str:
        v = value.strip().lower()
        if v in table:
            return table[v]
        raise ArgError("以下之一：" + "、".join(options))

    convert.choices = options  # type: ignore[attr-defined]
    return convert


def group_role(value: str) -> GroupRole:
    try:
        return GroupRole.parse(value)
    except ValueError:
        raise ArgError("管理员群、讲师群 或 审核员群") from None


def mention(value: str) -> str:
    """``@某人``: returns the text after @ (the dispatcher resolves staff ids)."""
    v = value.strip()
    if not v.startswith("@") or len(v) < 2:
        raise ArgError("@某人（在钉钉里@要操作的人）")
    return v[1:]


# --- specs ----------------------------------------------------------------------


@dataclass(frozen=True)
class Arg:
    label: str  # Chinese name shown to users, accepted as key
    key: str  # English identifier (handler gets args[key]); accepted as key too
    convert: Converter = text
    required: bool = True
    help: str = ""
    greedy: bool = False  # takes the rest of the line (positional only)
    default: Any = None
    aliases: tuple[str, ...] = ()

    @property
    def usage(self) -> str:
        inner = f"{self.label}…" if self.greedy else self.label
        return f"〈{inner}〉" if self.required else f"［{inner}］"


class Chat(str, enum.Enum):
    ANY = "any"
    GROUP = "group"
    PRIVATE = "private"


Handler = Callable[["Context", "Args"], Awaitable["Reply"]]


@dataclass(frozen=True)
class Permission:
    """Who may use a command: a check and the Chinese words that describe who may.

    Named permissions live in ``handlers/permissions.py`` (one module for every feature).
    """

    who: str
    check: Callable[[Context], Awaitable[bool]]

    async def allows(self, ctx: Context) -> bool:
        return await self.check(ctx)


@dataclass(frozen=True)
class CommandSpec:
    name: str  # Chinese name: /登记
    alias: str  # English alias: /register
    handler: Handler
    help: str
    args: tuple[Arg, ...] = ()
    groups: frozenset[GroupRole] | None = None  # None: any bound group (and 1:1 chats)
    chat: Chat = Chat.ANY
    permission: Permission | None = None  # checked after parsing; refused → 无权限 naming permission.who
    raw: bool = False  # handler parses ctx.text itself (multi-line paste, dialogue starters)
    examples: tuple[str, ...] = ()
    extra_aliases: tuple[str, ...] = ()
    router: str = ""
    section: str = ""  # heading of /帮助 it is listed under (HELP_SECTIONS)

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, self.alias, *self.extra_aliases)

    @property
    def usage(self) -> str:
        return " ".join([f"/{self.name}", *(a.usage for a in self.args)])

    def allowed_in(self, role: GroupRole | None, is_group: bool) -> bool:
        if self.chat is Chat.GROUP and not is_group:
            return False
        if self.chat is Chat.PRIVATE and is_group:
            return False
        if self.groups is not None and is_group and role not in self.groups:
            return False
        return True


T = TypeVar("T")


class Args:
    """Parsed arguments by English key, read through typed accessors.

    ``args.value("number", int)`` is an argument that is always there (required, or with a
    default); ``args.optional("name", str)`` may be ``None``. A wrong type is a programming
    error (the spec's converter and the handler disagree) and raises ``TypeError``.
    ``args.rest`` holds the raw text after the command.
    """

    __slots__ = ("_values", "rest")

    def __init__(self, values: dict[str, Any] | None = None, rest: str = ""):
        self._values: dict[str, Any] = dict(values or {})
        self.rest = rest

    def value(self, key: str, kind: type[T]) -> T:
        v = self._values.get(key)
        if not isinstance(v, kind):
            raise TypeError(f"argument {key!r}: expected {kind.__name__}, got {type(v).__name__}")
        return v

    def optional(self, key: str, kind: type[T]) -> T | None:
        v = self._values.get(key)
        if v is None:
            return None
        if not isinstance(v, kind):
            raise TypeError(f"argument {key!r}: expected {kind.__name__}, got {type(v).__name__}")
        return v

    def set(self, key: str, value: Any) -> None:
        self._values[key] = value

    def __contains__(self, key: str) -> bool:
        return self._values.get(key) is not None

    def as_dict(self) -> dict[str, Any]:
        return dict(self._values)


# /帮助 lists commands under these headings, in this order (others after them).
HELP_SECTIONS = ("名单登记", "积分", "考核与推荐", "资源审核", "审批与管理", "其他")


class Router:
    """A feature's commands and dialogue steps (aiogram-style)."""

    def __init__(self, name: str, section: str = "其他"):
        self.name = name
        self.section = section
        self.commands: list[CommandSpec] = []
        self.dialogues: dict[str, Handler] = {}

    def command(
        self,
        name: str,
        *,
        alias: str,
        help: str,
        args: Sequence[Arg] = (),
        groups: Iterable[GroupRole] | None = None,
        chat: Chat = Chat.ANY,
        permission: Permission | None = None,
        raw: bool = False,
        examples: Sequence[str] = (),
        extra_aliases: Sequence[str] = (),
        section: str | None = None,
    ):
        def decorate(fn: Handler) -> Handler:
            self.commands.append(
                CommandSpec(
                    name=name,
                    alias=alias,
                    handler=fn,
                    help=help,
                    args=tuple(args),
                    groups=frozenset(groups) if groups is not None else None,
                    chat=chat,
                    permission=permission,
                    raw=raw,
                    examples=tuple(examples),
                    extra_aliases=tuple(extra_aliases),
                    router=self.name,
                    section=section or self.section,
                )
            )
            return fn

        return decorate

    def dialogue(self, kind: str):
        """Register the step function of a dialogue kind: called with each answer."""

        def decorate(fn: Handler) -> Handler:
            self.dialogues[kind] = fn
            return fn

        return decorate


class Registry:
    def __init__(self, routers: Iterable[Router] = ()):
        self.commands: list[CommandSpec] = []
        self.dialogues: dict[str, Handler] = {}
        self._by_name: dict[str, CommandSpec] = {}
        self._here: dict[tuple[GroupRole | None, bool], tuple[CommandSpec, ...]] = {}
        self.include_routers(*routers)

    def include_routers(self, *routers: Router) -> None:
        for r in routers:
            self.include(r)

    def include(self, router: Router) -> None:
        self._here.clear()
        for spec in router.commands:
            for n in spec.names:
                key = n.lower()
                if key in self._by_name:
                    raise ValueError(f"command name /{n} declared twice ({self._by_name[key].router}, {router.name})")
                self._by_name[key] = spec
            self.commands.append(spec)
        for kind, fn in router.dialogues.items():
            if kind in self.dialogues:
                raise ValueError(f"dialogue {kind} declared twice")
            self.dialogues[kind] = fn

    def find(self, name: str) -> CommandSpec | None:
        return self._by_name.get(name.lower())

    def allowed_in(self, role: GroupRole | None, is_group: bool) -> tuple[CommandSpec, ...]:
        """The commands allowed in this kind of chat (permissions aside), in declaration order."""
        here = self._here.get((role, is_group))
        if here is None:
            here = self._here[(role, is_group)] = tuple(s for s in self.commands if s.allowed_in(role, is_group))
        return here

    def suggest(self, name: str, candidates: Iterable[CommandSpec] | None = None) -> list[CommandSpec]:
        pool = list(candidates if candidates is not None else self.commands)
        names = {n.lower(): s for s in pool for n in s.names}
        close = difflib.get_close_matches(name.lower(), list(names), n=3, cutoff=0.4)
        # Chinese names are short: also suggest commands sharing a character.
        if not close and any("\u4e00" <= ch <= "\u9fff" for ch in name):
            close = [s.name for s in pool if set(s.name) & set(name)][:3]
        out: list[CommandSpec] = []
        for c in close:
            spec = names.get(c.lower()) or self.find(c)
            if spec and spec not in out:
                out.append(spec)
        return out


# --- tokenising and parsing ----------------------------------------------------

_QUOTES = {'"': '"', "'": "'", "“": "”", "‘": "’", "「": "」", "《": "》"}


def split_command(text: str) -> tuple[str, str]:
    """'/登记 a b' → ('登记', 'a b'). The text must start with / or ／."""
    body = text[1:]
    m = re.match(r"\s*(\S+)", body)
    if not m:
        return "", ""
    name = m.group(1)
    rest = body[m.end() :]
    return name, rest.strip(" \t\u3000") if "\n" not in rest else rest.lstrip(" \t\u3000").rstrip()


def tokenize(text: str) -> list[str]:
    """Split on spaces (full-width too); quotes (straight or curly) keep spaces.

    An unterminated quote raises ArgError.
    """
    tokens: list[str] = []
    buf: list[str] = []
    quote: str | None = None
    in_token = False
    for ch in text:
        if quote:
            if ch == quote:
                quote = None
            else:
                buf.append(ch)
            continue
        if ch in _QUOTES and (not buf or buf[-1] in "=＝:："):
            quote = _QUOTES[ch]
            in_token = True
            continue
        if ch in " \t\n\u3000\u00a0":
            if in_token:
                tokens.append("".join(buf))
                buf, in_token = [], False
            continue
        buf.append(ch)
        in_token = True
    if quote:
        raise ArgError(f"引号没有闭合：请补上 {quote}")
    if in_token:
        tokens.append("".join(buf))
    return tokens


_KV = re.compile(r"^([^=＝]+?)\s*[=＝]\s*(.*)$", re.S)


@dataclass
class ParseFailure(Exception):
    arg: Arg | None
    value: str
    expected: str
    missing: bool = False  # a required argument was not given (``expected`` is its help)


def parse_args(spec: CommandSpec, rest: str) -> Args:
    """Parse ``rest`` against the spec; raise ParseFailure naming the argument."""
    result = Args(rest=rest)
    if spec.raw:
        return result
    try:
        tokens = tokenize(rest)
    except ArgError as exc:
        raise ParseFailure(None, rest, exc.expected) from None
    by_key: dict[str, Arg] = {}
    for a in spec.args:
        for k in (a.label, a.key, *a.aliases):
            by_key[to_halfwidth(k).lower()] = a
    positional: list[str] = []
    named: dict[Arg, str] = {}
    for tok in tokens:
        m = _KV.match(tok)
        if m and to_halfwidth(m.group(1)).strip().lower() in by_key:
            named[by_key[to_halfwidth(m.group(1)).strip().lower()]] = m.group(2)
        elif m and not positional and spec.args:
            raise ParseFailure(None, m.group(1), "可用的键：" + "、".join(a.label for a in spec.args))
        else:
            positional.append(tok)
    free = [a for a in spec.args if a not in named]
    values: dict[Arg, str] = dict(named)
    i = 0
    for a in free:
        if i >= len(positional):
            break
        if a.greedy:
            values[a] = " ".join(positional[i:])
            i = len(positional)
            break
        values[a] = positional[i]
        i += 1
    if i < len(positional):
        extra = " ".join(positional[i:])
        raise ParseFailure(None, extra, f"多余的内容「{extra}」；用法：{spec.usage}")
    for a in spec.args:
        if a in values:
            try:
                result.set(a.key, a.convert(values[a]))
            except ArgError as exc:
                raise ParseFailure(a, values[a], exc.expected) from None
        elif a.required:
            raise ParseFailure(a, "", a.help, missing=True)
        else:
            result.set(a.key, a.default)
    return result
