"""Replies: a template name plus its context, rendered by one strict Jinja2 environment.

Templates live in ``messages/<name>.md.j2``, one per reply outcome. Every
``{{ value }}`` is data: it is never escaped (no backslashes a person would read). When no value
contains a character that could form markup, the message goes as markdown with the values as they
are; otherwise it goes as plain text (``Rendered.markdown`` False), the template's own formatting
taken out, so user-supplied text can never change the layout nor show escapes. ``{{ x|raw }}`` marks
text the bot itself built (a URL it signed, a usage line).
Undefined variables fail (StrictUndefined), and a test renders every template.
"""

from __future__ import annotations

import re
from collections.abc import Hashable
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from domain.masking import mask_mobile

MESSAGES_DIR = Path(__file__).resolve().parent.parent / "messages"
DEFAULT_TITLE = "服务队伍助手"
MAX_CHARS = 6000  # DingTalk accepts ~20,000 bytes; phones need much less.
RENDERED_KEPT = 256  # replies kept for reuse by Reply.same_as

# Characters with which a value could form markup in DingTalk's markdown (or the HTML its renderer
# accepts). Whether DingTalk honours backslash escapes is not documented, so the bot never relies on
# them: a message whose values are free of these goes as markdown with the values as they are; one
# whose values are not goes as plain text, with the template's own formatting taken out.
_MARKUP_IN_VALUE = re.compile(r"[\\`*_\[\]<>&]|^\s*(?:#|[-+>]\s|\d+[.)]\s)", re.M)
_SLOT = "\x00{}\x00"
_SLOT_RE = re.compile("\x00(\\d+)\x00")
_values: ContextVar[list[str] | None] = ContextVar("reply_values", default=None)


def _finalize(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, Markup):
        return value
    slots = _values.get()
    if slots is None:  # rendered outside Renderer.render (a filter's own output)
        return str(value)
    slots.append(str(value))
    return _SLOT.format(len(slots) - 1)


def plain_text(markdown: str) -> str:
    """The template's own markdown as plain text: headings, bold, italics and links taken out."""
    out = re.sub(r"^\s{0,3}#{1,6}\s*", "", markdown, flags=re.M)
    out = re.sub(r"\*\*(.+?)\*\*", r"\1", out)
    out = re.sub(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])", r"\1", out)
    out = re.sub(r"!\[([^\]]*)\]\(([^)\s]+)\)", r"\1（\2）", out)
    out = re.sub(r"\[([^\]]+)\]\(([^)\s]+)\)", r"\1：\2", out)
    return re.sub(r"^>\s?", "", out, flags=re.M)


@dataclass(frozen=True)
class Reply:
    template: str
    context: dict[str, Any] = field(default_factory=dict)
    # Send to the sender in a 1:1 chat instead of the conversation (for full personal data).
    private: bool = False
    at_sender: bool = True
    # Set by a handler whose context is wholly determined by this key (e.g. /帮助: the commands listed,
    # the group's role): the renderer may reuse the text it rendered for the same key.
    same_as: Hashable | None = None


@dataclass(frozen=True)
class Rendered:
    title: str
    text: str
    markdown: bool = True  # False: send as plain text (a value had markup characters)

    @property
    def msg_key(self) -> str:
        """The robot OpenAPI message kind (protocol notes §10.2)."""
        return "sampleMarkdown" if self.markdown else "sampleText"

    @property
    def msg_param(self) -> dict[str, str]:
        return {"title": self.title, "text": self.text} if self.markdown else {"content": self.text}


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
            auto_reload=False,  # templates do not change while the bot runs: no stat() per reply
        )
        self.env.filters["raw"] = lambda v: Markup(str(v))
        self.env.filters["mask"] = mask_mobile
        self.env.globals.update(globals or {})
        self._rendered: dict[tuple[str, Hashable], Rendered] = {}  # Reply.same_as → its text

    def template_names(self) -> list[str]:
        return sorted(n[: -len(".md.j2")] for n in self.env.list_templates() if n.endswith(".md.j2"))

    def render(self, template: str, context: dict[str, Any] | None = None) -> Rendered:
        tpl = self.env.get_template(f"{template}.md.j2")
        slots: list[str] = []
        token = _values.set(slots)
        try:
            text = tpl.render(**(context or {})).strip()
        finally:
            _values.reset(token)
        text = re.sub(r"\n{3,}", "\n\n", text)
        markdown = not any(_MARKUP_IN_VALUE.search(v) for v in slots)
        if not markdown:
            text = plain_text(text)
        text = _SLOT_RE.sub(lambda m: slots[int(m.group(1))], text)
        if len(text) > MAX_CHARS:
            text = text[:MAX_CHARS].rsplit("\n", 1)[0] + "\n\n…（内容过长已截断，请缩小查询范围）"
        first = text.split("\n", 1)[0]
        title = (plain_text(first).strip() if markdown else first.strip())[:30] or DEFAULT_TITLE
        return Rendered(title=title, text=text, markdown=markdown)

    def reply(self, reply: Reply) -> Rendered:
        if reply.same_as is None:
            return self.render(reply.template, reply.context)
        key = (reply.template, reply.same_as)
        rendered = self._rendered.get(key)
        if rendered is None:
            rendered = self.render(reply.template, reply.context)
            if len(self._rendered) >= RENDERED_KEPT:
                del self._rendered[next(iter(self._rendered))]  # the oldest
            self._rendered[key] = rendered
        return rendered
