"""A plausible demo province (pure): roster rows with a few gaps, teachers, a term of activity.

Deterministic for a seed, so a newcomer's demo and a test see the same figures. Used by
``python3 run_bot.py demo`` (handlers/demo.py) and the dispatch benchmark.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from domain.regions import RegionTree
from domain.roster import Role

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁沈任姚卢"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红文斌辉鹏宇婷雪琳晨欣怡浩然子涵梓萱"
STAGES = ("小学", "小学", "小学", "初中", "初中", "高中", "学前", "中职")
SUBJECTS = {
    "学前": ("综合",),
    "小学": ("语文", "数学", "英语", "科学", "音乐", "美术"),
    "初中": ("语文", "数学", "英语", "物理", "化学", "历史"),
    "高中": ("语文", "数学", "物理", "生物", "地理"),
    "中职": ("计算机", "机械", "会计"),
}
TITLES = ("高级教师", "一级教师", "二级教师", "正高级教师")
PERSON_TYPES = ("区域数字资源建设负责人", "区域平台管理员", "教师")

# Simulator people (simulator/server.py DEFAULT_USERS) who get a seat, so their /考核 and /积分 show figures.
SIM_SEATS = (
    ("t-hz-001", "李明", "杭州市", "西湖区", Role.REVIEWER),
    ("t-hz-002", "张丽", "杭州市", "萧山区", Role.ADMIN),
    ("t-nb-001", "刘洋", "宁波市", "鄞州区", Role.TRAINER),
    ("t-wz-001", "陈静", "温州市", "瑞安市", Role.REVIEWER),
)
# City operators of the simulator (granted their city).
SIM_OPERATORS = (("city-hz-001", "陈建国", "杭州市"), ("city-nb-001", "林晓燕", "宁波市"))

# What an active teacher does in a typical week: (action, chance per week, detail).
WEEKLY = (
    ("resource_share", 0.7, None),
    ("photo_post", 0.5, None),
    ("article_publish", 0.25, None),
    ("class_teaching", 0.6, {"minutes": 40}),
    ("assignment", 0.5, {"completions_30d": 30}),
    ("marking", 0.5, {"marked": 35}),
    ("research_activity", 0.3, None),
    ("office_workflow", 0.4, None),
)


@dataclass(frozen=True)
class DemoSeat:
    role: Role
    city: str
    values: dict[str, str]  # roster column key → value, as a city would type it
    user_id: str | None = None  # a simulator person's staff id


@dataclass(frozen=True)
class DemoTeacher:
    account: str
    name: str
    school: str
    county: str
    city: str
    activity: float  # 0..1: how much of a typical week this teacher does


@dataclass
class DemoProvince:
    seats: list[DemoSeat] = field(default_factory=list)
    teachers: list[DemoTeacher] = field(default_factory=list)
    operators: tuple[tuple[str, str, str], ...] = SIM_OPERATORS


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.7 else "")


def build_province(
    tree: RegionTree, *, seed: int = 2026, teachers_per_county: int = 20, gap_share: float = 0.12
) -> DemoProvince:
    """Every city's roster with about ``gap_share`` of the counties short of a seat or two."""
    rng = random.Random(seed)
    demo = DemoProvince()
    sims = {(city, county, role): (uid, name) for uid, name, city, county, role in SIM_SEATS}
    mobile = iter(range(13800000000 + seed, 13999999999, 7919))
    for city in tree.cities:
        for county in ["市本级", *(k.name for k in tree.counties_of(city.name))]:
            gap = rng.random() < gap_share
            unit = city.name + ("" if county == "市本级" else county)
            for role, count in ((Role.ADMIN, 1), (Role.TRAINER, 1), (Role.REVIEWER, 4 if not gap else 2)):
                if gap and role is Role.TRAINER and rng.random() < 0.5:
                    continue
                for k in range(count):
                    sim = sims.get((city.name, county, role)) if k == 0 else None
                    name = sim[1] if sim else _name(rng)
                    stage = rng.choice(STAGES)
                    values = {"county": county, "name": name, "mobile": str(next(mobile))}
                    if role is Role.ADMIN:
                        values |= {
                            "org": f"{unit}教育技术中心",
                            "title": rng.choice(TITLES),
                            "post": "主任",
                            "person_type": rng.choice(PERSON_TYPES),
                        }
                    elif role is Role.TRAINER:
                        values |= {
                            "stage": stage,
                            "subject": rng.choice(SUBJECTS[stage]),
                            "title_post": rng.choice(TITLES),
                            "former_member": rng.choice(("是", "否")),
                        }
                    else:
                        values |= {
                            "stage": stage,
                            "subject": rng.choice(SUBJECTS[stage]),
                            "school": f"{unit}第{k + 1}{'小学' if stage == '小学' else '中学'}",
                            "account": f"Zj{len(demo.seats):05d}",
                            "title_post": rng.choice(TITLES),
                            "teacher_type": "各级平台资源审核员",
                        }
                    demo.seats.append(DemoSeat(role, city.name, values, sim[0] if sim else None))
            if county == "市本级":
                continue
            for _t in range(teachers_per_county):
                demo.teachers.append(
                    DemoTeacher(
                        account=f"T{len(demo.teachers):06d}",
                        name=_name(rng),
                        school=f"{county}实验学校",
                        county=county,
                        city=city.name,
                        activity=rng.betavariate(2, 2.5),
                    )
                )
    # Reviewers' platform accounts are teachers too, so their /积分 answers.
    for s in demo.seats:
        if s.role is Role.REVIEWER:
            demo.teachers.append(
                DemoTeacher(
                    s.values["account"],
                    s.values["name"],
                    s.values["school"],
                    s.values["county"] if s.values["county"] != "市本级" else tree.counties_of(s.city)[0].name,
                    s.city,
                    rng.uniform(0.4, 0.9),
                )
            )
    return demo


def term_start(today: date) -> date:
    """The first day of the current term: 1 September or 1 March."""
    return date(today.year, 9, 1) if today.month >= 9 else date(today.year, 3, 1)


def activity(demo: DemoProvince, today: date, tz: ZoneInfo, *, seed: int = 2026) -> Iterator[dict[str, object]]:
    """Activity items (the activity API's shape) from the start of the term to yesterday."""
    rng = random.Random(seed + 1)
    start = term_start(today)
    days = (today - start).days
    for t in demo.teachers:
        if rng.random() < 0.5:
            yield {
                "account": t.account,
                "action": "profile_update",
                "event_id": f"demo-p-{t.account}",
                "time": _at(start, 1, tz, rng),
                "detail": {"avatar": True, "contact": True, "school": True, "subject": True},
            }
        for d in range(days):
            day = start + timedelta(days=d)
            if rng.random() < 0.35 + 0.6 * t.activity:
                yield {
                    "account": t.account,
                    "action": "login",
                    "event_id": f"demo-l-{t.account}-{d}",
                    "time": _at(day, 0, tz, rng),
                }
            if day.weekday() == 2:  # one week's work, dated on its Wednesday
                for n, (action, chance, detail) in enumerate(WEEKLY):
                    if rng.random() < chance * t.activity:
                        item: dict[str, object] = {
                            "account": t.account,
                            "action": action,
                            "event_id": f"demo-{action}-{t.account}-{d}",
                            "time": _at(day, n, tz, rng),
                        }
                        if detail:
                            item["detail"] = detail
                        yield item


def _at(day: date, n: int, tz: ZoneInfo, rng: random.Random) -> str:
    moment = datetime.combine(day, time(8 + n % 9, rng.randrange(60)), tz)
    return moment.isoformat()
