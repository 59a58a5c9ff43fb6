"""Base schools (基地校, seed 003): the yearly list, definitions and thresholds as data, the figures
of each school's subject space and teacher spaces over a period, and the dynamic ranking.

Pure: no SQL, DingTalk or clock. Storage counts visits; this package decides what they mean.
"""

from .activity import ACTIONS, BaseItem, ItemError, action_of, parse_item
from .config import (
    ConfigError,
    Definitions,
    Indicator,
    load_definitions,
    parse_definitions,
)
from .figures import (
    PERIOD_EXAMPLES,
    Check,
    Counts,
    Period,
    Ranked,
    SchoolFigures,
    figures,
    month_period,
    parse_period,
    previous,
    rank,
    trend,
    year_of,
    year_period,
)
from .schools import (
    BaseSchool,
    RowError,
    match_school,
    parse_school,
    parse_schools,
    rows_from_yaml,
)

__all__ = [
    "ACTIONS",
    "PERIOD_EXAMPLES",
    "BaseItem",
    "BaseSchool",
    "Check",
    "ConfigError",
    "Counts",
    "Definitions",
    "Indicator",
    "ItemError",
    "Period",
    "Ranked",
    "RowError",
    "SchoolFigures",
    "action_of",
    "figures",
    "load_definitions",
    "match_school",
    "month_period",
    "parse_definitions",
    "parse_item",
    "parse_period",
    "parse_school",
    "parse_schools",
    "previous",
    "rank",
    "rows_from_yaml",
    "trend",
    "year_of",
    "year_period",
]
