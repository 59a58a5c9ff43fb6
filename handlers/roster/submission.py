"""/报送信息: the 附件1 / 附件3 header of a city (联系人姓名, 联系人电话, 手机), kept per city and year, audited;
``form_header`` fills the header of both forms from it."""

from __future__ import annotations

import re

from bot.commands import Args, Router
from bot.context import Context
from bot.replies import Reply
from domain.roster import normalize_mobile, normalize_name
from domain.territory import Territory
from handlers.permissions import CITY_OPERATOR
from handlers.roster.common import ROLE_GROUPS, regions
from handlers.roster.views import managed_city
from storage.repositories.submission import Contact, SubmissionRepository

router = Router("roster-submission", section="审批与管理")

ENTITY = "submission_contact"
_PAIR = re.compile(r"(联系人姓名|联系人|姓名|联系人电话|电话|座机|手机号?|手机号码)\s*[=＝:：]\s*(\S*)")
_KEYS = {
    "联系人姓名": "contact",
    "联系人": "contact",
    "姓名": "contact",
    "联系人电话": "phone",
    "电话": "phone",
    "座机": "phone",
    "手机": "mobile",
    "手机号": "mobile",
    "手机号码": "mobile",
}
_PHONE = re.compile(r"^[0-9][0-9\-－ ]{5,18}[0-9]$")
EXAMPLE = "/报送信息 联系人=陈建国 电话=0571-85000000 手机=13800138000"


def roster_header(city: str, contact: str, day: str, phone: str = "", mobile: str = "") -> dict[str, str]:
    """The header of 附件1 and 附件3: 报送单位, 联系人姓名, 联系人电话, 手机, 报送日期."""
    return {
        "报送单位": f"{city}教育技术中心",
        "联系人姓名": contact,
        "联系人电话": phone,
        "手机": mobile,
        "报送日期": day,
    }


async def form_header(ctx: Context, city: str) -> dict[str, str]:
    """A city's form header this year from /报送信息 (the sender as the contact until one is set)."""
    tree = regions(ctx.services)
    today = ctx.now().date()
    saved = await ctx.uow.repo(SubmissionRepository).get(Territory(tree.province, city).path, today.year)
    if saved is None:
        return roster_header(city, ctx.actor.name, today.isoformat())
    return roster_header(city, saved.contact, today.isoformat(), saved.phone, saved.mobile)


def _parse(body: str) -> tuple[str, dict[str, str], list[str]]:
    """(the words before the first pair: a city, values by key, problems)."""
    first = _PAIR.search(body)
    where = body[: first.start()].strip() if first else body.strip()
    values: dict[str, str] = {}
    problems: list[str] = []
    for m in _PAIR.finditer(body):
        key, raw = _KEYS[m.group(1)], m.group(2).strip()
        if key == "contact":
            v = normalize_name(raw)
            problems += [] if v else [f"「联系人」“{raw}”不对，应为姓名"]
        elif key == "mobile":
            v = normalize_mobile(raw)
            problems += [] if v else [f"「手机」“{raw}”不对，应为11位手机号，以13–19开头"]
        else:
            v = raw if _PHONE.match(raw) else None
            problems += [] if v else [f"「电话」“{raw}”不对，应为座机号，如 0571-85000000"]
        if v:
            values[key] = v
    return where, values, problems


@router.command(
    "报送信息",
    alias="contact",
    groups=ROLE_GROUPS,
    raw=True,
    permission=CITY_OPERATOR,
    help="填写本市附件1、附件3表头的联系人、电话、手机（按年保存）",
    examples=(EXAMPLE, "/报送信息", "/报送信息 宁波市 联系人=林晓燕 手机=13900139000"),
)
async def submission(ctx: Context, args: Args) -> Reply:
    where, values, problems = _parse(args.rest)
    city = await managed_city(ctx, where)
    assert city.city is not None  # _city gives a city
    year = ctx.now().year
    repo = ctx.uow.repo(SubmissionRepository)
    current = await repo.get(city.path, year)
    if problems:
        return Reply("roster/submission_errors", {"errors": problems, "example": EXAMPLE})
    if values:
        base = current or Contact(ctx.actor.name, "", "")
        new = Contact(
            values.get("contact", base.contact), values.get("phone", base.phone), values.get("mobile", base.mobile)
        )
        before = await repo.set(city.path, year, new, by=ctx.actor.id, now=ctx.now())
        await ctx.audit(
            "roster.submission",
            ENTITY,
            f"{city.path}/{year}",
            before=before.__dict__ if before else None,
            after=new.__dict__,
            territory=city.path,
        )
        current = new
    header = await form_header(ctx, city.city)
    return Reply(
        "roster/submission",
        {
            "city": city.city,
            "year": year,
            "changed": bool(values),
            "set": current is not None,
            "header": [{"label": k, "value": v or "（未填）"} for k, v in header.items()],
        },
        private=True,
    )
