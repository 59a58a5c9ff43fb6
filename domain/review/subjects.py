"""学段 and 学科 as the matcher compares them: canonical stage, subject with synonyms as data.

A subject is compared after NFKC, without spaces and in lower case; a leading stage word
("小学语文", "初中数学", "中职计算机") is dropped, then ``domain/data/subject_synonyms.yaml`` (or the
policy's own table) maps the spelling to its canonical name.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

from domain.roster.fields import STAGE, norm_label
from domain.yamltext import safe_load

DEFAULT_SYNONYMS_FILE = Path(__file__).resolve().parent.parent / "data" / "subject_synonyms.yaml"

# longest first, so "普通高中" is stripped before "高中"
_STAGE_PREFIXES = tuple(
    sorted(
        {norm_label(w) for w in ("学前", "幼儿园", "小学", "初中", "高中", "普高", "普通高中", "中职", "中专", "职高")},
        key=len,
        reverse=True,
    )
)


def load_subject_synonyms(path: str | Path | None = None) -> Mapping[str, str]:
    """The spelling → canonical table of a YAML file (``synonyms:`` mapping); keys normalised."""
    p = Path(path) if path else DEFAULT_SYNONYMS_FILE
    data = safe_load(p.read_text(encoding="utf-8")) or {}
    table = data.get("synonyms", data) if isinstance(data, dict) else {}
    if not isinstance(table, dict):
        raise ValueError(f"{p}: synonyms must be a mapping")
    return normalise_synonyms({str(k): str(v) for k, v in table.items()})


def normalise_synonyms(table: Mapping[str, str]) -> Mapping[str, str]:
    """Keys compared like subjects (NFKC, no spaces, lower case); values kept as written."""
    return MappingProxyType({norm_label(k): str(v).strip() for k, v in table.items() if norm_label(k)})


def default_subject_synonyms() -> Mapping[str, str]:
    """The table of domain/data/subject_synonyms.yaml (read on each call: build a MatchPolicy once per run)."""
    return load_subject_synonyms(DEFAULT_SYNONYMS_FILE)


def canonical_stage(text: str | None) -> str | None:
    """学前 / 小学 / 初中 / 高中 / 中职, or None when missing or unrecognisable."""
    if text is None or not str(text).strip():
        return None
    return STAGE.canonical(str(text))


def canonical_subject(text: str | None, synonyms: Mapping[str, str]) -> str | None:
    """The canonical subject for ``text`` (synonyms already normalised), or None when missing."""
    if text is None:
        return None
    key = norm_label(text)
    if not key:
        return None
    if key in synonyms:
        return synonyms[key]
    for prefix in _STAGE_PREFIXES:
        if key.startswith(prefix) and len(key) > len(prefix):
            key = key[len(prefix) :]
            break
    return synonyms.get(key, key)
