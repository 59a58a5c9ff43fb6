"""Signed, expiring download links: /files/<id>?e=<expiry>&s=<hmac>.

The id is 192 random bits and the link carries an HMAC over id and expiry,
so nothing is listable or guessable; the file row expires too.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

from bot.config import Settings
from bot.context import ServiceKey


def link_secret(settings: Settings) -> bytes:
    """BOT_LINK_SECRET, else a secret kept in the data dir (so links survive restarts)."""
    if settings.bot_link_secret:
        return settings.bot_link_secret.encode()
    path = Path(settings.bot_data_dir) / "link_secret"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            path.write_text(secrets.token_hex(32))
            path.chmod(0o600)
        return path.read_text().strip().encode()
    except OSError:
        return secrets.token_hex(32).encode()


# The secret is read once per bot (its Services), not once per link.
LINK_SECRET = ServiceKey[bytes]("links.secret", lambda services: link_secret(services.settings))


def _sig(secret: bytes, file_id: str, expiry: int) -> str:
    return hmac.new(secret, f"{file_id}.{expiry}".encode(), hashlib.sha256).hexdigest()[:32]


def sign_download(public_url: str, secret: bytes, file_id: str, expires_at: datetime) -> str:
    expiry = int(expires_at.timestamp())
    sig = _sig(secret, file_id, expiry)
    return f"{public_url}/files/{quote(file_id)}?e={expiry}&s={sig}"


def verify_download(secret: bytes, file_id: str, expiry: str, sig: str, now: datetime) -> bool:
    try:
        exp = int(expiry)
    except (TypeError, ValueError):
        return False
    if exp < now.timestamp():
        return False
    return hmac.compare_digest(_sig(secret, file_id, exp), sig or "")
