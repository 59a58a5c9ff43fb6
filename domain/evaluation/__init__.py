"""Annual evaluation (附件2): indicator sets as data per year, /报告 evidence, checklist states.

Pure: no storage, no chat. Handlers load the member's reports and the computed values, and
call ``checklist(...)``; this module decides each indicator's state:

- 达成: computed value meets the target, or every requirement is met by confirmed reports;
- 未达成: computed value misses the target, or reports were rejected (with the reason), or the
  report deadline passed without confirmed evidence;
- 待提交: nothing yet, reports waiting for the city operator's confirmation, or no computed data
  (e.g. the review records are not available yet).

Indicator sets live in ``domain/data/evaluation/<year>.yaml``; the set for a year is the file with
the greatest year not after it. Reviewer indicators read a ``ReviewStatsProvider`` that the
review-assignment work implements; the default provider has no data, so they stay 待提交.
"""

from domain.evaluation.checklist import ChecklistItem, checklist
from domain.evaluation.loading import IndicatorLibrary, indicator_set_for, indicator_sets, parse_indicator_set
from domain.evaluation.model import (
    ACHIEVED,
    CONFIRMED,
    NOT_ACHIEVED,
    PENDING,
    REJECTED,
    ROLE_NAMES,
    ROLES,
    SUBMITTED,
    EvaluationFileError,
    EvidenceField,
    EvidenceKind,
    Indicator,
    IndicatorSet,
    NoReviewStats,
    PointsShare,
    Report,
    ReportError,
    Requirement,
    ReviewStats,
    ReviewStatsProvider,
    share_reached,
)
from domain.evaluation.reports import describe_report, kinds_matching, parse_report

__all__ = [
    "ACHIEVED",
    "CONFIRMED",
    "NOT_ACHIEVED",
    "PENDING",
    "REJECTED",
    "ROLES",
    "ROLE_NAMES",
    "SUBMITTED",
    "ChecklistItem",
    "EvaluationFileError",
    "EvidenceField",
    "EvidenceKind",
    "Indicator",
    "IndicatorLibrary",
    "IndicatorSet",
    "NoReviewStats",
    "PointsShare",
    "Report",
    "ReportError",
    "Requirement",
    "ReviewStats",
    "ReviewStatsProvider",
    "checklist",
    "describe_report",
    "indicator_set_for",
    "indicator_sets",
    "kinds_matching",
    "parse_indicator_set",
    "parse_report",
    "share_reached",
]
