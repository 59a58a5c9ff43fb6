"""Reading YAML: PyYAML's safe loading, through libyaml's parser when PyYAML has it.

The bot reads its data files (annual cycle, regions, review calls, subject synonyms, roster and base-school
definitions) at every start, and every bot the test suite starts reads them again: the pure-Python parser
took ~8x as long (~30 ms a start). The constructors are the same safe ones either way, and errors are the
same ``yaml.YAMLError`` classes with the same line marks.
"""

from __future__ import annotations

from typing import Any

import yaml

SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(text: str) -> Any:
    """``yaml.safe_load`` with the fastest safe loader available."""
    return yaml.load(text, Loader=SafeLoader)
