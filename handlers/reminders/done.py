"""Who answers for an obligation, and the named "done" queries evaluated at send time.

A done query is ``async fn(uow, ob, due, subjects, env) -> {subject key: Status}``; register one with
``@done_query("name")`` (a feature may add its own, e.g. the review work's "reviewer tasks finished")
and name it in annual_cycle.yaml's ``done:``. Each query reads the store in a few set-wise
statements, never one per subject, so 100,000 teachers plan in seconds.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, NamedTuple

from sqlalchemy import select

from domain.evaluation.loading import IndicatorLibrary
from domain.regions import RegionTree
from domain.reminders.model import AudienceKind, Obligation
from domain.reminders.planner import DONE, Status, Subject
from domain.reminders.workdays import WorkCalendar
from domain.roster.completion import city_completion, count_index, territory_status
from domain.roster.fields import Role
from domain.roster.model import Status as SeatState
from domain.roster.quota import DEFAULT_RULES, QuotaRules
from domain.territory import Territory
from storage.db import UnitOfWork
from storage.models.reminders import ReminderAck
from storage.models.roster import RosterMember, TerritoryGrant
from storage.models.scores import EvalReport, Recommendation
from storage.repositories.roster import RosterRepository

_ROLE_LABEL = {r.value: r.label for r in Role}


async def _rows(uow: UnitOfWork, stmt: Any) -> list[Any]:
    """Plain rows through the session's connection (no ORM bookkeeping: 100,000 rows stay cheap)."""
    conn = await uow.session.connection()
    return list((await conn.execute(stmt)).all())


@dataclass(frozen=True)
class Env:
    tree: RegionTree
    rules: QuotaRules = DEFAULT_RULES
    cal: WorkCalendar = field(default_factory=WorkCalendar)
    indicators: IndicatorLibrary = field(default_factory=IndicatorLibrary)  # the bot's own (read once)


DoneQuery = Callable[[UnitOfWork, Obligation, date, list[Subject], Env], Awaitable[dict[str, Status]]]
DONE_QUERIES: dict[str, DoneQuery] = {}


def done_query(name: str) -> Callable[[DoneQuery], DoneQuery]:
    def register(fn: DoneQuery) -> DoneQuery:
        if name in DONE_QUERIES:
            raise ValueError(f"done query {name!r} registered twice")
        DONE_QUERIES[name] = fn
        return fn

    return register


# --- who answers ------------------------------------------------------------------------------


def _inside(path: str, territory: str | None) -> bool:
    return territory is None or path == territory or path.startswith(territory + "/")


async def subjects_for(uow: UnitOfWork, ob: Obligation, env: Env) -> list[Subject]:
    tree = env.tree
    if ob.audience.kind is AudienceKind.CITY:
        grants: dict[str, list[str]] = defaultdict(list)
        for holder, where in await _rows(
            uow, select(TerritoryGrant.user_id, TerritoryGrant.territory).where(TerritoryGrant.level == 1)
        ):
            grants[where].append(holder)
        out = []
        for c in tree.cities:
            path = Territory(tree.province, c.name).path
            if _inside(path, ob.territory):
                out.append(Subject(path, c.name, c.name, tuple(sorted(set(grants.get(path, [])))), path))
        return out
    q = select(
        RosterMember.id,
        RosterMember.user_id,
        RosterMember.role,
        RosterMember.city,
        RosterMember.county,
        RosterMember.territory,
    ).where(RosterMember.status == SeatState.ACTIVE.value)
    if ob.audience.kind is AudienceKind.COUNTY:
        admins: dict[str, list[str]] = defaultdict(list)
        for _id, uid, _role, _city, _county, seat in await _rows(
            uow, q.where(RosterMember.role == Role.ADMIN.value, RosterMember.county.is_not(None))
        ):
            if uid:
                admins[seat].append(uid)
        out = []
        for c in tree.cities:
            for k in tree.counties_of(c.name):
                path = Territory(tree.province, c.name, k.name).path
                if _inside(path, ob.territory):
                    out.append(
                        Subject(path, f"{c.name}{k.name}", c.name, tuple(sorted(set(admins.get(path, [])))), path)
                    )
        return out
    if ob.audience.role:
        q = q.where(RosterMember.role == ob.audience.role)
    out = []
    labels: dict[tuple[str, str | None, str], str] = {}  # few distinct places and roles among 100,000 seats
    inside = ob.territory
    for mid, uid, role, city, county, seat in await _rows(
        uow, q.where(RosterMember.user_id.is_not(None)).order_by(RosterMember.id)
    ):
        if uid and (inside is None or _inside(seat, inside)):
            label = labels.get((city, county, role))
            if label is None:
                label = labels[(city, county, role)] = f"{city}{county or '市本级'}{_ROLE_LABEL[role]}"
            out.append(Subject(f"m:{mid}:{role}:{uid}", label, city, (uid,), seat))
    return out


async def operators(
    uow: UnitOfWork, tree: RegionTree, superadmins: list[str]
) -> tuple[dict[str, tuple[str, ...]], tuple[str, ...]]:
    """City operators per city name, and the provincial operators."""
    city: dict[str, set[str]] = defaultdict(set)
    province: set[str] = set(superadmins)
    for uid, path, level in (
        await uow.session.execute(
            select(TerritoryGrant.user_id, TerritoryGrant.territory, TerritoryGrant.level).where(
                TerritoryGrant.level <= 1
            )
        )
    ).all():
        t = Territory.from_path(path)
        if level == 0:
            province.add(uid)
        elif t.city:
            city[t.city].add(uid)
    return {c: tuple(sorted(v)) for c, v in city.items()}, tuple(sorted(province))


# --- the built-in done queries ------------------------------------------------------------------


@done_query("roster_complete")
async def roster_complete(
    uow: UnitOfWork, ob: Obligation, due: date, subjects: list[Subject], env: Env
) -> dict[str, Status]:
    """A city: every territory's minimum quotas met; a county: its own quotas met."""
    # seats counted per role and territory: reading every active member of the province (~2,200 in the
    # demo) was most of the cost of /日程 whenever this obligation was running
    idx = count_index(await uow.repo(RosterRepository).seat_counts((SeatState.ACTIVE.value,)))
    out: dict[str, Status] = {}
    for s in subjects:
        t = Territory.from_path(s.key)
        if t.county is None:
            comp = city_completion(env.tree, t.city or "", (), env.rules, _idx=idx)
            missing = "；".join(f"{ts.label}还{ts.missing_text}" for ts in comp.incomplete[:6])
            if len(comp.incomplete) > 6:
                missing += f"等 {len(comp.incomplete)} 处"
            out[s.key] = Status(comp.complete, missing)
        else:
            ts = territory_status(t, (), env.rules, _idx=idx)
            out[s.key] = Status(ts.complete, f"{ts.label}还{ts.missing_text}" if not ts.complete else "")
    return out


@done_query("recommendations_confirmed")
async def recommendations_confirmed(
    uow: UnitOfWork, ob: Obligation, due: date, subjects: list[Subject], env: Env
) -> dict[str, Status]:
    """A city has marked its 附件3 recommendations for the due date's year (at least one, not withdrawn)."""
    cities = {
        r[0]
        for r in await _rows(
            uow,
            select(Recommendation.city)
            .where(Recommendation.year == due.year, Recommendation.withdrawn_at.is_(None))
            .distinct(),
        )
    }
    return {
        s.key: Status(Territory.from_path(s.key).city in cities, "还没有标记推荐人选（用 /推荐）") for s in subjects
    }


def _semester(due: date) -> str:
    return "春季" if due.month <= 6 else "秋季"


class _Row(NamedTuple):
    user_id: str
    role: str
    kind: str
    fields: dict[str, Any]
    status: str
    id: int


async def _reports(
    uow: UnitOfWork, year: int, kind: str | None = None, with_fields: set[str] | None = None
) -> dict[str, list[Any]]:
    """Submitted or confirmed reports of ``year`` per person; ``fields`` read only for the kinds in
    ``with_fields`` (None: all), since decoding JSON is most of the cost for 100,000 people."""
    live = (EvalReport.year == year, EvalReport.status.in_(("submitted", "confirmed")))
    q = select(
        EvalReport.user_id, EvalReport.role, EvalReport.kind, EvalReport.fields, EvalReport.status, EvalReport.id
    ).where(*live)
    if kind:
        q = q.where(EvalReport.kind == kind)
    out: dict[str, list[Any]] = defaultdict(list)
    if with_fields is not None:
        bare = select(EvalReport.user_id, EvalReport.role, EvalReport.kind, EvalReport.status, EvalReport.id).where(
            *live, EvalReport.kind.not_in(with_fields)
        )
        for uid, role, k, status, rid in await _rows(uow, bare):
            out[uid].append(_Row(uid, role, k, {}, status, rid))
        q = q.where(EvalReport.kind.in_(with_fields))
    for row in await _rows(uow, q):
        out[row.user_id].append(row)
    return out


def _person(s: Subject) -> tuple[str, str]:
    """(user id, role) of a member subject ``m:<id>:<role>:<user id>``."""
    _, _mid, role, uid = s.key.split(":", 3)
    return uid, role


@done_query("semester_report_submitted")
async def semester_report_submitted(
    uow: UnitOfWork, ob: Obligation, due: date, subjects: list[Subject], env: Env
) -> dict[str, Status]:
    """An admin has reported this semester's base data (/报告 数据 <学期> …)."""
    sem = _semester(due)
    reports = await _reports(uow, due.year, "数据")
    out = {}
    for s in subjects:
        people = [_person(s)[0]] if s.key.startswith("m:") else list(s.people)
        ok = any(str(r.fields.get("semester")) == sem for p in people for r in reports.get(p, []))
        out[s.key] = Status(ok, f"还没有报告{sem}学期基础数据（用 /报告 数据 {sem} …）")
    return out


@done_query("evaluation_reports_submitted")
async def evaluation_reports_submitted(
    uow: UnitOfWork, ob: Obligation, due: date, subjects: list[Subject], env: Env
) -> dict[str, Status]:
    """A member has reported (submitted or confirmed) every evidence their role's indicators ask for.

    Counted report by report against the requirements of that report's kind only (100,000 people: no
    objects per report, one Status per distinct set of missing requirements)."""
    iset = env.indicators.for_year(due.year)
    needs = {
        role: [q for ind in iset.indicators(role) for q in ind.requires] for role in ("admin", "trainer", "reviewer")
    }
    by_kind: dict[str, dict[str, list[tuple[int, Any]]]] = {}
    for role, qs in needs.items():
        kinds: dict[str, list[tuple[int, Any]]] = defaultdict(list)
        for i, q in enumerate(qs):
            kinds[q.kind].append((i, q))
        by_kind[role] = kinds
    reports = await _reports(
        uow, due.year, with_fields={q.kind for qs in needs.values() for q in qs if q.where or q.distinct}
    )
    nothing = {role: Status(not qs, _missing_text([q.label for q in qs])) for role, qs in needs.items()}
    known: dict[tuple[str, tuple[int, ...]], Status] = {}
    out = {}
    for s in subjects:
        uid, role = _person(s)
        rows = reports.get(uid)
        if not rows:  # nothing reported yet: everything is missing
            out[s.key] = nothing.get(role) or Status(True)
            continue
        qs, kinds = needs.get(role, []), by_kind.get(role, {})
        counts = [0] * len(qs)
        values: dict[int, set[str]] = {}
        for r in rows:
            if r.role != role:
                continue
            for i, q in kinds.get(r.kind, ()):
                if q.where and not all(str(r.fields.get(k)) == v for k, v in q.where):
                    continue
                if q.distinct:
                    values.setdefault(i, set()).add(str(r.fields.get(q.distinct)))
                else:
                    counts[i] += 1
        for i, vs in values.items():
            counts[i] = len(vs)
        missing = tuple(i for i, q in enumerate(qs) if counts[i] < q.count)
        status = known.get((role, missing))
        if status is None:
            status = known[(role, missing)] = Status(not missing, _missing_text([qs[i].label for i in missing]))
        out[s.key] = status
    return out


def _missing_text(missing: list[str]) -> str:
    if not missing:
        return ""
    return "还缺报告：" + "、".join(missing[:4]) + (f"等 {len(missing)} 项" if len(missing) > 4 else "")


@done_query("self_reported")
async def self_reported(
    uow: UnitOfWork, ob: Obligation, due: date, subjects: list[Subject], env: Env
) -> dict[str, Status]:
    """One-off items: done when someone answering for it pressed 已完成."""
    rows = (
        (
            await uow.session.execute(
                select(ReminderAck.person).where(
                    ReminderAck.obligation == ob.id, ReminderAck.due == due, ReminderAck.kind == DONE
                )
            )
        )
        .scalars()
        .all()
    )
    done = set(rows)
    return {s.key: Status(bool(done & set(s.people)), "还没有回复已完成") for s in subjects}
