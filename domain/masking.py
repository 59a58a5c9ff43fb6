"""Masks for personal data shown in group chats (PIPL): one definition for every feature.

The mask character is the full-width asterisk ``＊``: it reads as a mask on a phone and is no
markdown, so a masked value can never turn into bold or italics whatever the renderer does.
"""

from __future__ import annotations

MASK_CHAR = "＊"


def mask_mobile(mobile: str | None) -> str:
    """138＊＊＊＊1234 (anything that is not 11 characters is shown as it is)."""
    s = str(mobile or "")
    return s[:3] + MASK_CHAR * 4 + s[-4:] if len(s) == 11 else s


def mask_account(account: str) -> str:
    """Li＊＊＊＊01: the first two and last two characters of a platform account."""
    if len(account) <= 4:
        return account[:1] + MASK_CHAR * (len(account) - 1)
    return account[:2] + MASK_CHAR * (len(account) - 4) + account[-2:]
