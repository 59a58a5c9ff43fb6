"""All ORM models. Feature modules in this package are imported automatically,
so ``Base.metadata`` always holds every table (for Alembic and the tests)."""

from __future__ import annotations

import importlib
import pkgutil

from storage.models.base import Base

for _mod in pkgutil.iter_modules(__path__):
    if _mod.name != "base":
        importlib.import_module(f"{__name__}.{_mod.name}")

__all__ = ["Base"]
