import asyncio
from datetime import datetime
from bot.clock import SHANGHAI, ManualClock

async def read(sim, text, user="op-zj-001", conversation="cid-admin-group"):
    u = sim.user(user)
    conv = sim.private(u) if "p2p" in conversation else sim.group(conversation)
    mid = await asyncio.to_thread(sim.send_message, text, user=u, conversation=conv)
    rec = await asyncio.to_thread(sim.wait_reply, mid, 10)
    return sim.read_text(rec)

async def test_probe(start_bot, chat, sim):
    clock = ManualClock(datetime(2026, 12, 2, 9, 0, tzinfo=SHANGHAI))
    await start_bot(clock=clock)
    for cid, role in (("cid-admin-group", "管理员群"), ("cid-trainer-group", "讲师群"), ("cid-reviewer-group", "审核员群")):
        await chat.say(f"/绑定 {role}", conversation=cid)
    out = []
    async def p(t, **kw):
        r = await read(sim, t, **kw); out.append(f">>> {t} {kw}\n{r}\n")
    await p("/授权 @陈建国 杭州市")
    await p("/授权 @李明 西湖区", user="city-hz-001")
    await p("/我是谁", user="city-hz-001")
    await p("/我是谁", user="ext-001", conversation="cid-reviewer-group")
    await p("/我的", user="ext-001", conversation="cid-reviewer-group")
    await p("/撤销 @李明", user="city-hz-001")
    await p("/报告", user="t-hz-001", conversation="cid-trainer-group")
    await p("/推荐", user="city-hz-001")
    await p("/退回", user="city-hz-001")
    await p("/退回 3", user="city-hz-001")
    await p("/变更 1 学段=高三", user="city-hz-001", conversation="cid-reviewer-group")
    await p("/登记 县=西湖区 姓名=张三 学段=小学 学科=语文 学校=学军小学 账号=ZhangSan 手机=13800138000 类型=其他", user="city-hz-001", conversation="cid-reviewer-group")
    await p("/变更 1 学段=高三", user="city-hz-001", conversation="cid-reviewer-group")
    await p("/导出 名单 宁波市", user="city-hz-001")
    await p("/积分 上周", user="t-hz-001", conversation="cid-reviewer-group")
    await p("/积分 2025", user="t-hz-001", conversation="cid-reviewer-group")
    await p("/名单 全省")
    await p("/名单 缺额")
    await p("/考核", user="t-hz-001", conversation="cid-reviewer-group")
    await p("/登记\n西湖区\t王五\t初中\t数学\t西湖中学\tAcc1\t1371234567\t一级\t其他\n西湖区\t赵六\t初中\t数学\t西湖中学\tAcc2\t13712345679\t一级\t其他", user="city-hz-001", conversation="cid-reviewer-group")
    await p("/登记", user="t-hz-002", conversation="cid-reviewer-group")
    for a in ["萧山区", "上一步", "萧山", "张丽", "2", "语文", "萧山中学", "ZhangLi", "13900001111", "一级教师", "大学", "3"]:
        await p(a, user="t-hz-002", conversation="cid-reviewer-group")
    await p("修改 3", user="t-hz-002", conversation="cid-reviewer-group")
    await p("4", user="t-hz-002", conversation="cid-reviewer-group")
    await p("确认", user="t-hz-002", conversation="cid-reviewer-group")
    open("/tmp/probe/out.txt", "w").write("\n".join(out))
