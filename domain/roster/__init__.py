"""The roster of the service team (附件1): pure rules, no I/O.

- :mod:`.fields`      roles, the form's sections and columns, enumerations
- :mod:`.model`       Member, FieldError, RowResult, masking, diffs
- :mod:`.parsing`     ``字段=值`` lines, rows in column order, multi-row pastes
- :mod:`.validation`  values, the county in the city, whole rows, changes
- :mod:`.quota`       quotas as data, RosterBook (seats, one per person, unique accounts)
- :mod:`.completion`  filled vs quota per territory, per-city completion
"""

from domain.masking import mask_mobile
from domain.roster.completion import (
    CityCompletion,
    SeatStatus,
    TerritoryStatus,
    city_completion,
    province_completion,
    territory_status,
    total_seats,
)
from domain.roster.fields import (
    CITY_LEVEL,
    PERSON_TYPE,
    SECTIONS,
    STAGE,
    TEACHER_TYPE,
    YES_NO,
    Column,
    Enumeration,
    Kind,
    Role,
    Section,
    norm_label,
    section_for_title,
)
from domain.roster.model import FieldError, Member, RowResult, Status, member_diff
from domain.roster.parsing import RawRow, logical_lines, parse_columns, parse_header, parse_kv, parse_line, parse_paste
from domain.roster.quota import DEFAULT_RULES, Quota, QuotaError, QuotaRules, RosterBook, SeatRefusal
from domain.roster.validation import (
    MOBILE_EXPECTED,
    apply_changes,
    check_value,
    missing_fields,
    normalize_account,
    normalize_mobile,
    normalize_name,
    resolve_county,
    validate_row,
    validate_values,
)

__all__ = [
    "CITY_LEVEL",
    "DEFAULT_RULES",
    "MOBILE_EXPECTED",
    "PERSON_TYPE",
    "SECTIONS",
    "STAGE",
    "TEACHER_TYPE",
    "YES_NO",
    "CityCompletion",
    "Column",
    "Enumeration",
    "FieldError",
    "Kind",
    "Member",
    "Quota",
    "QuotaError",
    "QuotaRules",
    "RawRow",
    "Role",
    "RosterBook",
    "RowResult",
    "SeatRefusal",
    "SeatStatus",
    "Section",
    "Status",
    "TerritoryStatus",
    "apply_changes",
    "check_value",
    "city_completion",
    "logical_lines",
    "mask_mobile",
    "member_diff",
    "missing_fields",
    "norm_label",
    "normalize_account",
    "normalize_mobile",
    "normalize_name",
    "parse_columns",
    "parse_header",
    "parse_kv",
    "parse_line",
    "parse_paste",
    "province_completion",
    "resolve_county",
    "section_for_title",
    "territory_status",
    "total_seats",
    "validate_row",
    "validate_values",
]
