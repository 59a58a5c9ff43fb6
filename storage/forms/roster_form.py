"""附件1 教育资源公共服务体系服务队伍设区市汇总表: one city's roster as .xlsx / .docx, and back."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from domain.regions import RegionTree
from domain.roster import SECTIONS, Member, RawRow, Role
from domain.roster.quota import DEFAULT_RULES, QuotaRules
from domain.territory import Level
from storage.forms.docx_io import read_docx, write_docx
from storage.forms.tables import DOCX_MIME, XLSX_MIME, FormData, FormReadError, FormSpec, SectionSpec
from storage.forms.xlsx_io import read_xlsx, write_xlsx

ROSTER_TITLE = "教育资源公共服务体系服务队伍设区市汇总表"
HEADER_FIELDS = ("报送单位", "联系人姓名", "联系人电话", "手机", "报送日期")
ROLES = (Role.ADMIN, Role.TRAINER, Role.REVIEWER)

__all__ = [
    "DOCX_MIME",
    "HEADER_FIELDS",
    "ROSTER_TITLE",
    "XLSX_MIME",
    "FormReadError",
    "RosterFile",
    "read_roster",
    "roster_form_data",
    "roster_form_spec",
    "sort_members",
    "write_roster_docx",
    "write_roster_xlsx",
]


def roster_form_spec(*, deadline: str = "4月30日", rules: QuotaRules = DEFAULT_RULES) -> FormSpec:
    """The form with its notes; the deadline and quotas come from configuration."""
    admin, trainer, reviewer = (rules.county[r].text for r in ROLES)
    notes = (
        f"注：1. 本表格由各设区市教育技术中心填写，于{deadline}前上报盖章扫描件及word文档。",
        f"2. 各市、县(市、区)落实体系管理员{admin}。“人员类型”填写：区域数字资源建设负责人或区域平台管理员或教师。"
        "钉钉扫码加入“体系管理员省群”。",
        f"3. 各市、县(市、区)推荐省级培训师{trainer}。钉钉扫码加入“省级培训师省群”。",
        f"4. 各市、县(市、区)推荐省级资源审核员{reviewer}。省级资源审核员的学段为学前、小学、初中、高中、中职，"
        "平台账号请注意大小写，教师类型填写：各级平台资源审核员或在往届省级及以上各类数字资源征集活动中入围教师或其他。"
        "钉钉扫码加入“省级资源审核员省群”。",
    )
    return FormSpec(
        title=ROSTER_TITLE,
        attachment="附件1",
        header_fields=HEADER_FIELDS,
        sections=tuple(SectionSpec(r.value, SECTIONS[r].title, SECTIONS[r].labels) for r in ROLES),
        notes=notes,
        sheet_name="附件1",
    )


ROSTER_FORM = roster_form_spec()


def sort_members(members: Iterable[Member], tree: RegionTree | None = None) -> list[Member]:
    """市本级 first, then counties in the tree's order (else by name), then by name."""
    order: dict[str, int] = {}
    if tree is not None:
        for c in tree.cities:
            for i, k in enumerate(tree.counties_of(c.name), start=1):
                order[f"{c.name}/{k.name}"] = i

    def key(m: Member):
        t = m.territory
        level = 0 if t.level is Level.CITY else 1
        pos = order.get(f"{t.city}/{t.county}", 10_000) if t.county else 0
        return (t.city or "", level, pos, t.county or "", m.id if m.id is not None else 1 << 62, m.name)

    return sorted(members, key=key)


def roster_form_data(
    members: Iterable[Member], header: Mapping[str, str] | None = None, tree: RegionTree | None = None
) -> FormData:
    data = FormData(
        header={k: str((header or {}).get(k, "") or "") for k in HEADER_FIELDS}, sections={r.value: [] for r in ROLES}
    )
    for m in sort_members(members, tree):
        data.sections[m.role.value].append(m.row())
    return data


def write_roster_xlsx(
    members: Iterable[Member],
    header: Mapping[str, str] | None = None,
    *,
    tree: RegionTree | None = None,
    spec: FormSpec = ROSTER_FORM,
) -> bytes:
    return write_xlsx(spec, roster_form_data(members, header, tree))


def write_roster_docx(
    members: Iterable[Member],
    header: Mapping[str, str] | None = None,
    *,
    tree: RegionTree | None = None,
    spec: FormSpec = ROSTER_FORM,
) -> bytes:
    return write_docx(spec, roster_form_data(members, header, tree))


@dataclass
class RosterFile:
    """A filled 附件1 read back: header fields and rows ready for validation."""

    header: dict[str, str] = field(default_factory=dict)
    rows: list[RawRow] = field(default_factory=list)  # row = the spreadsheet row number

    def by_role(self, role: Role) -> list[RawRow]:
        return [r for r in self.rows if r.role == role]


def read_roster(data: bytes, filename: str = "", spec: FormSpec = ROSTER_FORM) -> RosterFile:
    """Read a filled 附件1 (.xlsx, or .docx); raises FormReadError with a Chinese message."""
    if filename.lower().endswith(".docx") or (data[:2] == b"PK" and b"word/" in data[:4000]):
        form = read_docx(spec, data)
    elif filename.lower().endswith((".xls", ".et")) and not data.startswith(b"PK"):
        raise FormReadError("不支持旧版 .xls 文件，请在 Excel 中另存为 .xlsx 后再导入")
    else:
        form = read_xlsx(spec, data)
    out = RosterFile(header=dict(form.header))
    for role in ROLES:
        keys = SECTIONS[role].keys
        for values, rn in zip(form.sections.get(role.value, []), form.row_numbers.get(role.value, []), strict=False):
            out.rows.append(
                RawRow(
                    row=rn,
                    role=role,
                    values=dict(zip(keys, values, strict=False)),
                    text="\t".join(values),
                    mode="columns",
                )
            )
    out.rows.sort(key=lambda r: r.row)
    return out
