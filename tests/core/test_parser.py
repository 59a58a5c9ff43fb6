"""The command parser: tokens, key=value, full-width, quotes, typed arguments."""

from __future__ import annotations

from datetime import date

import pytest

from bot.commands import (
    Arg,
    ArgError,
    GroupRole,
    ParseFailure,
    Registry,
    Router,
    choice,
    group_role,
    integer,
    iso_date,
    parse_args,
    positive_int,
    split_command,
    tokenize,
)
from bot.incoming import from_callback_data, normalise_text


async def _noop(ctx, args):  # pragma: no cover - never called
    raise AssertionError


def _spec(**kw):
    r = Router("t")
    r.command(
        "报告",
        alias="report",
        help="h",
        args=[
            Arg("类型", "kind", choice("培训", "文章")),
            Arg("日期", "day", iso_date, required=False),
            Arg("主题", "topic", required=False, greedy=True),
        ],
        **kw,
    )(_noop)
    return Registry([r]).find("报告")


def test_tokenize_quotes_and_fullwidth_spaces():
    assert tokenize('a  "b c"\u3000d') == ["a", "b c", "d"]
    assert tokenize("主题=“信息 技术” x") == ["主题=信息 技术", "x"]
    with pytest.raises(ArgError):
        tokenize('a "b c')


def test_positional_and_named_and_greedy():
    spec = _spec()
    a = parse_args(spec, "培训 2026-05-10 数字 资源 应用")
    assert a.as_dict() == {"kind": "培训", "day": date(2026, 5, 10), "topic": "数字 资源 应用"}
    b = parse_args(spec, "日期＝2026/5/9 类型=文章")
    assert b.value("kind", str) == "文章" and b.value("day", date) == date(2026, 5, 9)
    assert b.optional("topic", str) is None and "topic" not in b
    c = parse_args(spec, "kind=培训 topic=“一 二”")
    assert c.value("topic", str) == "一 二"
    with pytest.raises(TypeError):
        c.value("kind", int)  # the spec's converter and the handler disagree
    with pytest.raises(TypeError):
        c.value("day", date)  # optional and absent: value() insists


def test_parse_failures_name_the_argument():
    spec = _spec()
    with pytest.raises(ParseFailure) as e:
        parse_args(spec, "讲座")
    assert e.value.arg.label == "类型" and "培训" in e.value.expected
    with pytest.raises(ParseFailure) as e:
        parse_args(spec, "培训 2026-02-30")
    assert e.value.arg.label == "日期" and "存在的日期" in e.value.expected
    with pytest.raises(ParseFailure) as e:
        parse_args(spec, "")
    assert e.value.arg.label == "类型" and e.value.missing
    with pytest.raises(ParseFailure) as e:
        parse_args(spec, "颜色=红")
    assert e.value.arg is None and "类型" in e.value.expected


def test_converters():
    assert integer("＃3".replace("＃", "#")) == 3
    assert positive_int("#12") == 12
    with pytest.raises(ArgError):
        positive_int("0")
    assert iso_date("2026年5月1日") == date(2026, 5, 1)
    assert group_role("审核员群") is GroupRole.REVIEWER and group_role("Trainer") is GroupRole.TRAINER
    with pytest.raises(ArgError):
        group_role("家长群")


def test_split_command_keeps_pasted_lines():
    assert split_command("/登记 西湖区 张三") == ("登记", "西湖区 张三")
    name, rest = split_command("/登记\n西湖区\t张三\n滨江区\t李四")
    assert name == "登记" and rest.splitlines()[1:] == ["西湖区\t张三", "滨江区\t李四"]


def test_registry_rejects_duplicate_names_and_suggests():
    r1, r2 = Router("a"), Router("b")
    r1.command("名单", alias="roster", help="h")(_noop)
    r2.command("名册", alias="roster", help="h")(_noop)
    with pytest.raises(ValueError, match="declared twice"):
        Registry([r1, r2])
    reg = Registry([r1])
    assert [s.name for s in reg.suggest("rostr")] == ["名单"]
    assert [s.name for s in reg.suggest("名")] == ["名单"]


def test_normalise_text_and_callback_data():
    assert normalise_text("\u3000 @服务助手 ／帮助 ", bot_names=("服务助手",)) == "／帮助"
    msg = from_callback_data(
        {
            "msgId": "m1",
            "conversationId": "cid",
            "conversationType": "2",
            "senderId": "$:x",
            "senderNick": "张三",
            "msgtype": "text",
            "text": {"content": " /帮助\u3000"},
            "sessionWebhookExpiredTime": 1_700_000_000_000,
            "atUsers": [{"dingtalkId": "d1", "staffId": "s1"}, {"dingtalkId": "bot"}],
        }
    )
    assert msg.text == "/帮助" and msg.is_group and msg.sender_id == "$:x" and msg.sender_staff_id is None
    assert msg.mentioned_staff_ids == ["s1"] and msg.webhook_expires_at.year == 2023
    pic = from_callback_data(
        {
            "msgId": "m2",
            "conversationType": "1",
            "msgtype": "picture",
            "content": {"downloadCode": "x"},
            "senderStaffId": "u1",
        }
    )
    assert pic.text == "" and pic.msgtype == "picture" and pic.sender_id == "u1" and not pic.is_group


def test_mentions_pair_names_with_at_users_in_order():
    """An outside member (no staff id) mentioned first must not shift the staff ids of the others."""
    from bot.context import Context

    msg = from_callback_data(
        {
            "msgId": "m3",
            "conversationType": "2",
            "msgtype": "text",
            "chatbotUserId": "bot",
            "text": {"content": " /授权 @外部老师 @李明 西湖区"},
            "senderStaffId": "op",
            "atUsers": [{"dingtalkId": "bot"}, {"dingtalkId": "$:ext"}, {"dingtalkId": "d2", "staffId": "s2"}],
        }
    )
    ctx = Context(message=msg, uow=None, services=None, group_role=None, actor=None)
    assert [(m.name, m.staff_id) for m in ctx.mentions()] == [("外部老师", None), ("李明", "s2")]
    # DingTalk gave fewer entries than names: staff ids are paired in order, the rest stay unknown
    short = from_callback_data(
        {
            **msg.extra,
            "msgId": "m4",
            "conversationType": "2",
            "msgtype": "text",
            "chatbotUserId": "bot",
            "text": {"content": "@甲 @乙"},
            "atUsers": [{"dingtalkId": "bot"}, {"dingtalkId": "d1", "staffId": "s1"}],
        }
    )
    ctx = Context(message=short, uow=None, services=None, group_role=None, actor=None)
    assert [(m.name, m.staff_id) for m in ctx.mentions()] == [("甲", "s1"), ("乙", None)]


def test_every_example_of_every_command_parses():
    """The usage reply shows a command's examples: each must be accepted as written."""
    from bot.commands import Registry
    from handlers.features import routers

    registry = Registry(routers())
    without = []
    for spec in registry.commands:
        if any(a.required for a in spec.args) and not spec.examples:
            without.append(spec.name)
        for example in spec.examples:
            name, rest = split_command(example)
            assert registry.find(name) is spec, example
            parse_args(spec, rest)  # raises ParseFailure if the example does not parse
    assert not without, f"commands with required arguments need an example: {without}"
