"""Roster settings as data: the region file, quotas per territory, the all-or-nothing word.

The default is ``domain/data/roster.yaml``; an operator points ``ROSTER_CONFIG``
at another file (read by the handlers at start-up).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from domain.regions import DEFAULT_REGIONS, RegionTree, load_regions
from domain.roster.quota import DEFAULT_RULES, QuotaError, QuotaRules
from domain.yamltext import safe_load

DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "data" / "roster.yaml"


class RosterConfigError(ValueError):
    """The roster configuration file is unusable; the message names the file and the problem."""


@dataclass(frozen=True)
class RosterConfig:
    regions_file: Path = DEFAULT_REGIONS
    quotas: QuotaRules = field(default_factory=lambda: DEFAULT_RULES)
    all_or_nothing_word: str = "全部或不导"

    def load_regions(self) -> RegionTree:
        return load_regions(self.regions_file)


def load_roster_config(path: str | Path | None = None) -> RosterConfig:
    p = Path(path) if path else DEFAULT_CONFIG
    try:
        raw = safe_load(p.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise RosterConfigError(f"{p}: cannot read ({exc.strerror or exc})") from None
    except yaml.YAMLError as exc:
        raise RosterConfigError(f"{p}: not valid YAML ({exc})") from None
    if not isinstance(raw, dict):
        raise RosterConfigError(f"{p}: expected a mapping")
    unknown = sorted(set(raw) - {"regions", "quotas", "all_or_nothing_word"})
    if unknown:
        raise RosterConfigError(f"{p}: unknown key {unknown[0]!r} (regions, quotas, all_or_nothing_word)")
    regions = raw.get("regions")
    regions_file = DEFAULT_REGIONS
    if regions:
        rp = Path(str(regions))
        regions_file = rp if rp.is_absolute() else p.parent / rp
    try:
        quotas = QuotaRules.from_mapping(raw.get("quotas"))
    except (QuotaError, TypeError, ValueError, KeyError) as exc:
        raise RosterConfigError(f"{p}: quotas: {exc}") from None
    word = str(raw.get("all_or_nothing_word") or "全部或不导")
    return RosterConfig(regions_file=regions_file, quotas=quotas, all_or_nothing_word=word)
