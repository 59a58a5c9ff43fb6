"""Errors that carry a reply for the user.

Raise :class:`UserError` anywhere below a handler: the dispatcher renders its
template for the user and rolls the unit of work back. Anything else is an
unexpected error: logged with the msgId, the user gets a short apology with an
error reference, never a traceback.
"""

from __future__ import annotations

from typing import Any


class UserError(Exception):
    def __init__(self, template: str, **context: Any):
        super().__init__(template)
        self.template = template
        self.context = context

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"UserError({self.template!r}, {self.context!r})"
