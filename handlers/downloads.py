"""The pair of download links every form export sends: the same form as .xlsx and as .docx."""

from __future__ import annotations

from bot.context import Context
from storage.forms import DOCX_MIME, XLSX_MIME


async def form_links(ctx: Context, stem: str, xlsx: bytes, docx: bytes) -> list[dict[str, str]]:
    """Signed links to ``<stem>.xlsx`` and ``<stem>.docx``, as the ``links`` of an ``…/exported`` template."""
    out = []
    for ext, mime, data in (("xlsx", XLSX_MIME, xlsx), ("docx", DOCX_MIME, docx)):
        name = f"{stem}.{ext}"
        out.append({"name": name, "url": await ctx.download_link(name, mime, data)})
    return out
