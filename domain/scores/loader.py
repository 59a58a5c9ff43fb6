"""Load a points rule set from YAML, refusing a bad file with the line and the reason (Chinese).

The file is composed into YAML nodes first so that every problem can name the line it is on
(``node.start_mark.line``, shown 1-based). All problems of the file are collected, not only the first.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .rules import (
    KINDS,
    MATCHES,
    OPERATORS,
    PERIOD_NAMES,
    PERIODS,
    Cap,
    Condition,
    Rule,
    RuleFileError,
    RuleProblem,
    RuleSet,
    Streak,
)

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
DEFAULT_RULES = DATA_DIR / "points_rules_default.yaml"

SET_FIELDS = {"name", "timezone", "year_start", "rules", "description"}
RULE_FIELDS = {
    "code",
    "group",
    "name",
    "description",
    "actions",
    "points",
    "conditions",
    "match",
    "caps",
    "kind",
    "streak",
}
CAP_FIELDS = {"count", "per"}
STREAK_FIELDS = {"after_days", "points"}
CODE_RE = re.compile(r"^[a-z][a-z0-9_]{0,47}$")
FIELD_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,47}$")
COND_RE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*([^\sA-Za-z0-9_\"'.+-]+)\s*(.+?)\s*$")
MAX_POINTS = 10_000
MAX_CAP = 10_000


def _line(node: Node) -> int:
    return node.start_mark.line + 1


class _Reader:
    def __init__(self, loader: yaml.SafeLoader) -> None:
        self.loader = loader
        self.problems: list[RuleProblem] = []

    def fail(self, node: Node | None, reason: str) -> None:
        self.problems.append(RuleProblem(_line(node) if node is not None else None, reason))

    def scalar(self, node: Node):
        return self.loader.construct_object(node, deep=True)

    def mapping(self, node: Node, what: str, allowed: set[str]) -> dict[str, tuple[Node, Node]] | None:
        """Key -> (key node, value node); reports a non-mapping, duplicate and unknown keys."""
        if not isinstance(node, MappingNode):
            self.fail(node, f"{what}应为“字段: 值”的映射")
            return None
        out: dict[str, tuple[Node, Node]] = {}
        for knode, vnode in node.value:
            key = self.scalar(knode) if isinstance(knode, ScalarNode) else None
            if not isinstance(key, str):
                self.fail(knode, f"{what}的字段名无效")
                continue
            if key in out:
                self.fail(knode, f"{what}的字段“{key}”重复")
                continue
            if key not in allowed:
                self.fail(knode, f"{what}有未知字段“{key}”，可用字段：{'、'.join(sorted(allowed))}")
                continue
            out[key] = (knode, vnode)
        return out

    def text(self, node: Node, what: str, *, allow_empty: bool = False) -> str | None:
        value = self.scalar(node) if isinstance(node, ScalarNode) else None
        if not isinstance(value, str) or (not allow_empty and not value.strip()):
            self.fail(node, f"{what}应为非空文字")
            return None
        return value.strip()

    def integer(self, node: Node, what: str, *, minimum: int, maximum: int) -> int | None:
        value = self.scalar(node) if isinstance(node, ScalarNode) else None
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(node, f"{what} 应为整数")
            return None
        if value < minimum:
            if minimum == 0:
                self.fail(node, f"{what} 不能为负数（现为 {value}）")
            else:
                self.fail(node, f"{what} 至少为 {minimum}（现为 {value}）")
            return None
        if value > maximum:
            self.fail(node, f"{what} 不能超过 {maximum}（现为 {value}）")
            return None
        return value


def _parse_value(raw: str):
    low = raw.lower()
    if low in ("true", "false"):
        return low == "true"
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "\"'":
        return raw[1:-1]
    try:
        return int(raw)
    except ValueError:
        pass
    try:
        return float(raw)
    except ValueError:
        return None


def _condition(r: _Reader, node: Node) -> Condition | None:
    text = r.scalar(node) if isinstance(node, ScalarNode) else None
    if not isinstance(text, str):
        r.fail(node, "条件应写成“字段 比较符 值”，如 minutes >= 15")
        return None
    m = COND_RE.match(text)
    if not m:
        r.fail(node, f"条件“{text}”看不懂，应写成“字段 比较符 值”，如 minutes >= 15")
        return None
    fname, op, raw = m.groups()
    if op not in OPERATORS:
        r.fail(node, f"条件“{text}”的比较符“{op}”未知，可用：{' '.join(OPERATORS)}")
        return None
    value = _parse_value(raw)
    if value is None:
        r.fail(node, f"条件“{text}”的值“{raw}”应为数字、true/false 或带引号的文字")
        return None
    if isinstance(value, str) and op not in ("==", "!="):
        r.fail(node, f"条件“{text}”：文字只能用 == 或 != 比较")
        return None
    return Condition(fname, op, value)


def _choice(r, fields, key: str, where: str, allowed, hint: str, default: str) -> str:
    """An optional field with a fixed set of values; an unknown value is reported with the choices."""
    if key not in fields:
        return default
    value = r.text(fields[key][1], f"{where}的 {key}")
    if value is not None and value not in allowed:
        r.fail(fields[key][1], f"{where}的 {key}“{value}”未知，可用：{hint}")
        return default
    return value or default


def _rule(r: _Reader, node: Node, index: int) -> Rule | None:
    before = len(r.problems)
    fields = r.mapping(node, f"第 {index} 条规则", RULE_FIELDS)
    if fields is None:
        return None
    where = f"第 {index} 条规则"
    for required in ("code", "group", "name", "actions", "points"):
        if required not in fields:
            r.fail(node, f"{where}缺少字段“{required}”")
    code = group = name = None
    if "code" in fields:
        code = r.text(fields["code"][1], "规则代码 code")
        if code is not None and not CODE_RE.match(code):
            r.fail(fields["code"][1], f"规则代码“{code}”只能用小写英文字母、数字和下划线，且以字母开头")
        elif code:
            where = f"规则“{code}”"
    if "group" in fields:
        group = r.text(fields["group"][1], f"{where}的 group")
    if "name" in fields:
        name = r.text(fields["name"][1], f"{where}的 name")
    description = ""
    if "description" in fields:
        description = r.text(fields["description"][1], f"{where}的 description", allow_empty=True) or ""

    actions = _actions(r, fields, where)

    points = None
    if "points" in fields:
        points = r.integer(fields["points"][1], f"{where}的分值 points", minimum=0, maximum=MAX_POINTS)

    kind = _choice(r, fields, "kind", where, KINDS, "plain（按次）或 streak（连续天数）", "plain")
    match = _choice(r, fields, "match", where, MATCHES, "all（全部满足）或 any（任一满足）", "all")

    conditions = _conditions(r, fields, where)
    caps = _caps(r, fields, where)

    streak = _streak(r, fields, where, kind)
    if kind == "streak":
        if "streak" not in fields:
            r.fail(node, f"{where}是连续计分规则（kind: streak），缺少 streak 设置")
        day_cap = next((c for c in caps if c.per == "day"), None)
        if day_cap is None or day_cap.count != 1:
            r.fail(
                fields.get("caps", (node, node))[1],
                f"{where}是连续计分规则，上限须为每天 1 次（{{count: 1, per: day}}）",
            )

    if len(r.problems) > before:
        return None
    assert code is not None and group is not None and name is not None and points is not None  # checked above
    caps.sort(key=lambda c: PERIODS.index(c.per))
    return Rule(
        code=code,
        group=group,
        name=name,
        actions=tuple(actions),
        points=points,
        caps=tuple(caps),
        conditions=tuple(conditions),
        match=match,
        kind=kind,
        streak=streak,
        description=description,
        line=_line(node),
    )


def _actions(r: _Reader, fields: dict[str, tuple[Node, Node]], where: str) -> list[str]:
    actions: list[str] = []
    if "actions" in fields:
        anode = fields["actions"][1]
        items: list[Any] | None
        if isinstance(anode, ScalarNode):
            items = [anode]
        elif isinstance(anode, SequenceNode) and anode.value:
            items = anode.value
        else:
            r.fail(anode, f"{where}的 actions 应为一个或多个平台动作代码")
            items = []
        for item in items:
            a = r.text(item, f"{where}的动作代码")
            if a is None:
                continue
            if not FIELD_RE.match(a):
                r.fail(item, f"动作代码“{a}”只能用英文字母、数字和下划线")
            elif a in actions:
                r.fail(item, f"{where}的动作代码“{a}”重复")
            else:
                actions.append(a)
    return actions


def _conditions(r: _Reader, fields: dict[str, tuple[Node, Node]], where: str) -> list[Condition]:
    conditions: list[Condition] = []
    if "conditions" in fields:
        cnode = fields["conditions"][1]
        items = [cnode] if isinstance(cnode, ScalarNode) else cnode.value if isinstance(cnode, SequenceNode) else None
        if items is None:
            r.fail(cnode, f'{where}的 conditions 应为条件列表，如 ["minutes >= 15"]')
            items = []
        for item in items:
            c = _condition(r, item)
            if c is not None:
                conditions.append(c)
    return conditions


def _caps(r: _Reader, fields: dict[str, tuple[Node, Node]], where: str) -> list[Cap]:
    caps: list[Cap] = []
    if "caps" in fields:
        cnode = fields["caps"][1]
        if not isinstance(cnode, SequenceNode):
            r.fail(cnode, f"{where}的 caps 应为列表，如 [{{count: 5, per: week}}]")
        else:
            seen: set[str] = set()
            for item in cnode.value:
                cf = r.mapping(item, f"{where}的上限", CAP_FIELDS)
                if cf is None:
                    continue
                if "count" not in cf or "per" not in cf:
                    r.fail(item, f"{where}的上限需要 count 和 per 两项")
                    continue
                count = r.integer(cf["count"][1], f"{where}的上限次数 count", minimum=1, maximum=MAX_CAP)
                per = r.text(cf["per"][1], f"{where}的上限周期 per")
                if per is not None and per not in PERIODS:
                    r.fail(
                        cf["per"][1],
                        f"{where}的上限周期“{per}”未知，可用：day（天）、week（周）、month（月）、year（年）",
                    )
                    continue
                if per in seen:
                    r.fail(cf["per"][1], f"{where}的上限周期“{per}”重复")
                    continue
                if count is not None and per is not None:
                    seen.add(per)
                    caps.append(Cap(count, per))
    return caps


def _streak(r: _Reader, fields: dict[str, tuple[Node, Node]], where: str, kind: str) -> Streak | None:
    streak = None
    if "streak" in fields:
        snode = fields["streak"][1]
        sf = r.mapping(snode, f"{where}的 streak", STREAK_FIELDS)
        if sf is not None:
            if "after_days" not in sf or "points" not in sf:
                r.fail(snode, f"{where}的 streak 需要 after_days 和 points 两项")
            else:
                after = r.integer(sf["after_days"][1], f"{where}的 streak.after_days", minimum=1, maximum=366)
                spts = r.integer(sf["points"][1], f"{where}的 streak.points", minimum=0, maximum=MAX_POINTS)
                if after is not None and spts is not None:
                    streak = Streak(after, spts)
        if kind != "streak":
            r.fail(snode, f"{where}有 streak 设置，但 kind 不是 streak")
    return streak


def _year_start(r: _Reader, node: Node) -> tuple[int, int] | None:
    value = r.scalar(node) if isinstance(node, ScalarNode) else None
    m = re.fullmatch(r"(\d{1,2})-(\d{1,2})", str(value).strip()) if isinstance(value, (str, int)) else None
    if not m:
        r.fail(node, f'year_start“{value}”应写成“月-日”，如 "01-01" 或 "09-01"')
        return None
    month, day = int(m.group(1)), int(m.group(2))
    from datetime import date

    try:
        date(2023, month, day)  # a non-leap year: 02-29 is refused
    except ValueError:
        r.fail(node, f"year_start“{value}”不是每年都有的日期")
        return None
    return month, day


def parse_rules(text: str, source: str = "") -> RuleSet:
    """Parse a rule file's text. Raises RuleFileError listing every problem with its line."""
    loader = yaml.SafeLoader(text)
    try:
        try:
            root = loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark else None
            raise RuleFileError([RuleProblem(line, f"YAML 格式错误（{exc.problem or exc.context}）")], source) from None
        except yaml.YAMLError as exc:
            raise RuleFileError([RuleProblem(None, f"YAML 格式错误（{exc}）")], source) from None
        if root is None:
            raise RuleFileError([RuleProblem(None, "文件是空的")], source)
        r = _Reader(loader)
        top = r.mapping(root, "规则文件", SET_FIELDS)
        if top is None:
            raise RuleFileError(r.problems, source)
        name = r.text(top["name"][1], "规则集名称 name") if "name" in top else None
        if "name" not in top:
            r.fail(root, "缺少规则集名称 name")
        timezone = "Asia/Shanghai"
        if "timezone" in top:
            tz = r.text(top["timezone"][1], "时区 timezone")
            if tz is not None:
                try:
                    ZoneInfo(tz)
                    timezone = tz
                except (ZoneInfoNotFoundError, ValueError):
                    r.fail(top["timezone"][1], f"时区“{tz}”未知，如 Asia/Shanghai")
        year_start = (1, 1)
        if "year_start" in top:
            year_start = _year_start(r, top["year_start"][1]) or (1, 1)
        rules: list[Rule] = []
        if "rules" not in top:
            r.fail(root, "缺少规则列表 rules")
        else:
            rnode = top["rules"][1]
            if not isinstance(rnode, SequenceNode) or not rnode.value:
                r.fail(rnode, "rules 应为至少一条规则的列表")
            else:
                codes: dict[str, int] = {}
                for i, item in enumerate(rnode.value, start=1):
                    rule = _rule(r, item, i)
                    if rule is None:
                        continue
                    if rule.code in codes:
                        r.fail(item, f"规则代码“{rule.code}”重复（第 {codes[rule.code]} 行已有）")
                        continue
                    codes[rule.code] = _line(item)
                    rules.append(rule)
        if r.problems:
            raise RuleFileError(r.problems, source)
        assert name is not None  # a missing name is a problem above
        return RuleSet(name=name, rules=tuple(rules), timezone=timezone, year_start=year_start, source=source)
    finally:
        loader.dispose()


def load_rules(path: str | Path | None = None) -> RuleSet:
    """Load a rule file (default: the points table of seed 001)."""
    p = Path(path) if path else DEFAULT_RULES
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise RuleFileError([RuleProblem(None, f"读不到文件（{exc.strerror or exc}）")], str(p)) from None
    except UnicodeDecodeError:
        raise RuleFileError([RuleProblem(None, "文件不是 UTF-8 编码")], str(p)) from None
    return parse_rules(text, source=p.name)


_default: RuleSet | None = None


def default_rules() -> RuleSet:
    global _default
    if _default is None:
        _default = load_rules()
    return _default


__all__ = ["DEFAULT_RULES", "PERIOD_NAMES", "default_rules", "load_rules", "parse_rules"]
