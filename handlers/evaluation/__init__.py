"""Annual evaluation (附件2) and recommendation (附件3).

/报告 类型 …     a member reports evidence (培训、参训、文章 …); the city operator is told
/待确认          the city operator's list of reports waiting for a decision
/确认 编号       / /退回 编号 原因: the city operator decides
/考核 [@某人] [年份]  the checklist: each indicator of the member's role with 达成 / 未达成 / 待提交,
                 the evidence and where it came from (积分统计 / 审核记录 / 本人报告)
/推荐 @某人 备注 / /撤回推荐 @某人: the city operator marks excellent workers
/导出 推荐表 [城市]: 附件3 as xlsx and docx (through the roster's /导出 registry)

Reviewer indicators read ``services.use(REVIEW_STATS)`` (a domain.evaluation.ReviewStatsProvider
that the review-assignment work registers); without it they stay 待提交.
"""

from __future__ import annotations

from handlers.evaluation import checklist, recommend, reports
from handlers.evaluation.common import INDICATORS, REVIEW_STATS, indicators

ROUTERS = [reports.router, checklist.router, recommend.router]
EXPORTS = recommend.EXPORTS

__all__ = ["EXPORTS", "INDICATORS", "REVIEW_STATS", "ROUTERS", "indicators"]
