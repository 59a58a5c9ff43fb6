"""DingTalk's markdown subset, as the chat page shows it, and the text a person reads from it.

DingTalk documents this subset for robot markdown messages and cards: headings (``#`` to
``######`` and a space), quotes (``> ``), bold (``**x**``), italic (``*x*``), links
(``[text](url)``), images (``![alt](url)``), unordered lists (``- `` / ``* `` / ``+ ``),
ordered lists (``1. ``) and line breaks. Nothing more: a backslash is a backslash (no
backslash-escape processing), and any other markup (`` `code` ``, ``~~x~~``, ``_x_``,
``__x__``, tables, HTML tags, ``---``) is shown literally.

:func:`parse` gives blocks of inline spans; :func:`to_html` renders them for the chat page (the
page shows exactly this HTML) and :func:`to_plain_text` gives what a person reads:

* a heading, a paragraph line or a quote line: its text (no ``#`` or ``>``);
* an unordered item: ``• text``; an ordered item: ``N. text``, numbered on from the first
  item's number (as the browser numbers it);
* a link: its text; an image: its alt text, or ``[图片]`` without one;
* lines inside a block joined by ``\\n``, blocks by ``\\n\\n``; trailing spaces of a line dropped.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

_INLINE = re.compile(
    r"!\[(?P<alt>[^\]\n]*)\]\((?P<src>[^()\s]+)\)"
    r"|\[(?P<text>[^\]\n]+)\]\((?P<href>[^()\s]+)\)"
    r"|\*\*(?=\S)(?P<bold>.+?)(?<=\S)\*\*"
    r"|\*(?=[^\s*])(?P<em>.+?)(?<=[^\s*])\*"
)
_HEADING = re.compile(r"^(#{1,6})[ \t]+(.*)$")
_QUOTE = re.compile(r"^>[ \t]?(.*)$")
_UL = re.compile(r"^[ \t]*[-*+][ \t]+(.*)$")
_OL = re.compile(r"^[ \t]*(\d{1,9})\.[ \t]+(.*)$")
_URL = re.compile(r"https?://[^\s<>()（）\"']+")
_SAFE_URL = re.compile(r"^(https?:|dingtalk:|mailto:|/)", re.IGNORECASE)
IMAGE_TEXT = "[图片]"


@dataclass
class Span:
    """``kind``: text | bold | em | link | image. ``text`` for text spans and image alts."""

    kind: str
    text: str = ""
    url: str = ""
    children: list[Span] = field(default_factory=list)


@dataclass
class Block:
    """``kind``: heading | para | quote | ul | ol. ``lines``: one span list per line or item."""

    kind: str
    lines: list[list[Span]]
    level: int = 0  # heading level
    start: int = 1  # first number of an ordered list


def parse_inline(text: str) -> list[Span]:
    spans: list[Span] = []
    pos = 0
    for m in _INLINE.finditer(text):
        if m.start() > pos:
            spans.append(Span("text", text[pos : m.start()]))
        if m.group("src") is not None:
            spans.append(Span("image", m.group("alt"), m.group("src")))
        elif m.group("href") is not None:
            spans.append(Span("link", url=m.group("href"), children=parse_inline(m.group("text"))))
        elif m.group("bold") is not None:
            spans.append(Span("bold", children=parse_inline(m.group("bold"))))
        else:
            spans.append(Span("em", children=parse_inline(m.group("em"))))
        pos = m.end()
    if pos < len(text):
        spans.append(Span("text", text[pos:]))
    return spans


def parse(md: str) -> list[Block]:
    blocks: list[Block] = []
    current: Block | None = None

    def open_block(kind: str, **kw: int) -> Block:
        nonlocal current
        if current is None or current.kind != kind or kind == "heading":
            current = Block(kind, [], **kw)
            blocks.append(current)
        return current

    for raw in str(md or "").replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = raw.rstrip()
        if not line.strip():
            current = None
        elif m := _HEADING.match(line):
            open_block("heading", level=len(m.group(1))).lines.append(parse_inline(m.group(2)))
            current = None
        elif m := _QUOTE.match(line):
            open_block("quote").lines.append(parse_inline(m.group(1)))
        elif m := _UL.match(line):
            open_block("ul").lines.append(parse_inline(m.group(1)))
        elif m := _OL.match(line):
            open_block("ol", start=int(m.group(1))).lines.append(parse_inline(m.group(2)))
        else:
            open_block("para").lines.append(parse_inline(line.strip()))
    return blocks


# --------------------------------------------------------------------------- plain text


def _spans_text(spans: list[Span]) -> str:
    out = []
    for s in spans:
        if s.kind == "text":
            out.append(s.text)
        elif s.kind == "image":
            out.append(s.text or IMAGE_TEXT)
        else:
            out.append(_spans_text(s.children))
    return "".join(out)


def to_plain_text(md: str) -> str:
    """What a person reads when DingTalk shows ``md`` (see the module docstring for the rules)."""
    parts = []
    for b in parse(md):
        if b.kind == "ul":
            lines = ["• " + _spans_text(item) for item in b.lines]
        elif b.kind == "ol":
            lines = [f"{b.start + i}. " + _spans_text(item) for i, item in enumerate(b.lines)]
        else:
            lines = [_spans_text(line) for line in b.lines]
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


# --------------------------------------------------------------------------- HTML


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def linkify(text: str) -> str:
    """Plain text as HTML with bare http(s) URLs made clickable (text messages, link texts)."""
    out, pos = [], 0
    for m in _URL.finditer(text):
        out.append(_esc(text[pos : m.start()]))
        url = _esc(m.group(0))
        out.append(f'<a href="{url}" target="_blank" rel="noopener noreferrer">{url}</a>')
        pos = m.end()
    out.append(_esc(text[pos:]))
    return "".join(out)


def _spans_html(spans: list[Span], in_link: bool = False) -> str:
    out = []
    for s in spans:
        if s.kind == "text":
            out.append(_esc(s.text) if in_link else linkify(s.text))
        elif s.kind == "bold":
            out.append(f"<strong>{_spans_html(s.children, in_link)}</strong>")
        elif s.kind == "em":
            out.append(f"<em>{_spans_html(s.children, in_link)}</em>")
        elif s.kind == "link":
            inner = _spans_html(s.children, True)
            out.append(
                f'<a href="{_esc(s.url)}" target="_blank" rel="noopener noreferrer">{inner}</a>'
                if _SAFE_URL.match(s.url)
                else inner
            )
        elif _SAFE_URL.match(s.url):
            out.append(f'<img src="{_esc(s.url)}" alt="{_esc(s.text or IMAGE_TEXT)}">')
        else:
            out.append(_esc(s.text or IMAGE_TEXT))
    return "".join(out)


def to_html(md: str) -> str:
    """The chat page's HTML for ``md``: only the subset's elements, everything else escaped text."""
    out = []
    for b in parse(md):
        lines = [_spans_html(line) for line in b.lines]
        if b.kind == "heading":
            n = min(b.level + 2, 6)
            out.append(f"<h{n}>{lines[0]}</h{n}>")
        elif b.kind == "ul":
            out.append("<ul>" + "".join(f"<li>{x}</li>" for x in lines) + "</ul>")
        elif b.kind == "ol":
            start = f' start="{b.start}"' if b.start != 1 else ""
            out.append(f"<ol{start}>" + "".join(f"<li>{x}</li>" for x in lines) + "</ol>")
        elif b.kind == "quote":
            out.append("<blockquote>" + "<br>".join(lines) + "</blockquote>")
        else:
            out.append("<p>" + "<br>".join(lines) + "</p>")
    return "".join(out)
