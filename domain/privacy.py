"""Masking personal data for places where not everyone may read it (group chats, lists of other people)."""
from __future__ import annotations


def mask_mobile(mobile: str | None) -> str:
    """138****1234 (anything that is not 11 characters is shown as it is)."""
    s = str(mobile or "")
    return s[:3] + "****" + s[-4:] if len(s) == 11 else s
