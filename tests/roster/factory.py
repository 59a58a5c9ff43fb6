"""Test data: plausible members for whole cities (names without digits, unique mobiles/accounts)."""

from __future__ import annotations

from domain.regions import RegionTree
from domain.roster import CITY_LEVEL, Member, Role
from domain.territory import Territory

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红文斌辉鹏宇"


def person_name(i: int) -> str:
    return SURNAMES[i % len(SURNAMES)] + GIVEN[(i // len(SURNAMES)) % len(GIVEN)] + GIVEN[(i // 7 + i) % len(GIVEN)]


def territories(tree: RegionTree, city: str) -> list[Territory]:
    return [Territory(tree.province, city)] + [Territory(tree.province, city, k.name) for k in tree.counties_of(city)]


def member(role: Role, territory: Territory, i: int, **overrides: str) -> Member:
    county = territory.county or CITY_LEVEL
    if role is Role.ADMIN:
        values = {
            "county": county,
            "name": person_name(i),
            "org": f"{territory.label}教育技术中心",
            "title": "高级教师",
            "post": "主任",
            "mobile": f"138{i:08d}",
            "person_type": "区域平台管理员",
        }
    elif role is Role.TRAINER:
        values = {
            "county": county,
            "name": person_name(i),
            "stage": "小学",
            "subject": "语文",
            "title_post": "一级教师",
            "mobile": f"139{i:08d}",
            "former_member": "是",
        }
    else:
        values = {
            "county": county,
            "name": person_name(i),
            "stage": "初中",
            "subject": "数学",
            "school": f"{territory.name}第一中学",
            "account": f"Zj{i:05d}",
            "mobile": f"137{i:08d}",
            "title_post": "高级教师",
            "teacher_type": "其他",
        }
    values.update(overrides)
    return Member(role, territory, values)


def city_members(tree: RegionTree, city: str, *, reviewers: int = 3, start: int = 0) -> list[Member]:
    out: list[Member] = []
    i = start
    for t in territories(tree, city):
        for role, n in ((Role.ADMIN, 1), (Role.TRAINER, 1), (Role.REVIEWER, reviewers)):
            for _ in range(n):
                i += 1
                out.append(member(role, t, i))
    return out
