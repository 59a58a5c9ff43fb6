"""DingTalk's markdown subset: what a person reads (to_plain_text) and the page's HTML (to_html)."""

from __future__ import annotations

import pytest

from simulator.markdown import to_html, to_plain_text

# (markdown, what a person reads)
SAMPLES = [
    ("#### 可用命令\n\n- **/帮助**：查看命令\n- /我是谁", "可用命令\n\n• /帮助：查看命令\n• /我是谁"),
    ("# 一\n## 二\n###### 六\n####### 七", "一\n\n二\n\n六\n\n####### 七"),
    ("> 引用 *斜体*\n> 第二行\n\n正文", "引用 斜体\n第二行\n\n正文"),
    ("3. 三\n4. 四\n1. 五", "3. 三\n4. 四\n5. 五"),
    (
        "[说明](https://example.invalid/doc) 与 ![图](https://example.invalid/a.png) ![](https://e.invalid/b.png)",
        "说明 与 图 [图片]",
    ),
    ("第一行  \n第二行\n\n\n第三段", "第一行\n第二行\n\n第三段"),
    # Only the subset: a backslash stays, everything else is literal.
    ("SunYue\\_HZ 和 \\[链接\\] 和 a\\b", "SunYue\\_HZ 和 \\[链接\\] 和 a\\b"),
    # ... so an escaped star is a backslash, and the stars still make emphasis.
    ("139\\*\\*1111", "139\\\\1111"),
    (
        "SunYue_HZ __粗__ _斜_ `code` ~~删~~ <b>x</b> <font color=red>红</font>",
        "SunYue_HZ __粗__ _斜_ `code` ~~删~~ <b>x</b> <font color=red>红</font>",
    ),
    ("| a | b |\n|---|---|\n---\n```\ncode\n```", "| a | b |\n|---|---|\n---\n```\ncode\n```"),
    ("139****1111", "139****1111"),
    ("2*3*4 与 139****1111 与 2*3", "234 与 139***1111 与 23"),
    ("Li**01 与 139****1111", "Li01 与 139**1111"),
    ("**粗 *斜* 粗** 和 ** 不是粗 ** 和 *", "粗 斜 粗 和 ** 不是粗 ** 和 *"),
    ("[**粗链接**](https://e.invalid/x) [坏链接](javascript:alert(1))", "粗链接 [坏链接](javascript:alert(1))"),
    ("[文字](javascript:void)", "文字"),
    ("-不是列表\n1.不是列表\n#不是标题", "-不是列表\n1.不是列表\n#不是标题"),
]


@pytest.mark.parametrize(("md", "read"), SAMPLES)
def test_plain_text_is_what_a_person_reads(md, read):
    assert to_plain_text(md) == read


def test_html_has_only_the_subsets_elements_and_escapes_the_rest():
    html = to_html(
        "#### 标题\n\n- **粗** *斜*\n1. [链](https://e.invalid/a?x=1&y=2)\n\n> 引\n\n"
        "![图](https://e.invalid/p.png) <img src=x onerror=alert(1)> \\_ `c`"
    )
    assert html == (
        "<h6>标题</h6><ul><li><strong>粗</strong> <em>斜</em></li></ul>"
        '<ol><li><a href="https://e.invalid/a?x=1&amp;y=2" target="_blank" rel="noopener noreferrer">链</a></li></ol>'
        "<blockquote>引</blockquote>"
        '<p><img src="https://e.invalid/p.png" alt="图"> &lt;img src=x onerror=alert(1)&gt; \\_ `c`</p>'
    )
    assert to_html("[x](javascript:void)") == "<p>x</p>"
    assert to_html("看 https://e.invalid/f?a=1 吧") == (
        '<p>看 <a href="https://e.invalid/f?a=1" target="_blank" rel="noopener noreferrer">'
        "https://e.invalid/f?a=1</a> 吧</p>"
    )
    assert to_html("5. 五\n6. 六") == '<ol start="5"><li>五</li><li>六</li></ol>'
