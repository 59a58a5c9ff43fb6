"""Replies: a template name plus its context, rendered by one strict Jinja2 environment.

Templates live in ``messages/<name>.md.j2``, one per reply outcome. Every
``{{ value }}`` is escaped for DingTalk markdown unless it is marked safe with
the ``raw`` filter, so user-supplied text can never change the layout.
Undefined variables fail (StrictUndefined), and a test renders every template.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from domain.privacy import mask_mobile

MESSAGES_DIR = Path(__file__).resolve().parent.parent / "messages"
DEFAULT_TITLE = "服务队伍助手"
MAX_CHARS = 6000   # DingTalk accepts ~20,000 bytes; phones need much less.

_MD_SPECIAL = re.compile(r"([\\`*_\[\]#|])")
_NEEDS_ESCAPE = re.compile(r"[\\`*_\[\]#|&<>]")


def md_escape(value: Any) -> str:
    """Escape text for DingTalk markdown (and HTML, which its renderer accepts)."""
    s = str(value)
    if not _NEEDS_ESCAPE.search(s):          # most text: nothing to do
        return s
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", s)


def _finalize(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, Markup):
        return value
    return md_escape(value)


@dataclass(frozen=True)
class Reply:
    template: str
    context: dict[str, Any] = field(default_factory=dict)
    # Send to the sender in a 1:1 chat instead of the conversation (for full personal data).
    private: bool = False
    at_sender: bool = True


@dataclass(frozen=True)
class Rendered:
    title: str
    text: str


class Renderer:
    def __init__(self, directory: Path = MESSAGES_DIR, globals: dict[str, Any] | None = None):
        self.env = Environment(
            loader=FileSystemLoader(str(directory)),
            undefined=StrictUndefined,
            finalize=_finalize,
            autoescape=False,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
            auto_reload=False,      # templates do not change while the bot runs: no stat() per reply
        )
        self.env.filters["raw"] = lambda v: Markup(str(v))
        self.env.filters["mask"] = mask_mobile
        self.env.filters["md"] = md_escape
        self.env.globals.update(globals or {})

    def template_names(self) -> list[str]:
        return sorted(n[: -len(".md.j2")] for n in self.env.list_templates() if n.endswith(".md.j2"))

    def render(self, template: str, context: dict[str, Any] | None = None) -> Rendered:
        tpl = self.env.get_template(f"{template}.md.j2")
        text = tpl.render(**(context or {})).strip()
        text = re.sub(r"\n{3,}", "\n\n", text)
        if len(text) > MAX_CHARS:
            text = text[:MAX_CHARS].rsplit("\n", 1)[0] + "\n\n…（内容过长已截断，请缩小查询范围）"
        first = text.split("\n", 1)[0].lstrip("#").strip()
        title = re.sub(r"[\\*_`]", "", first)[:30] or DEFAULT_TITLE
        return Rendered(title=title, text=text)

    def reply(self, reply: Reply) -> Rendered:
        return self.render(reply.template, reply.context)
