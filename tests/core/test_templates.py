"""Every template renders with sample data; escaping keeps user text inert."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from jinja2 import UndefinedError

from bot.replies import MESSAGES_DIR, Renderer, md_escape
from tests.samples import SAMPLES

renderer = Renderer()
NAMES = renderer.template_names()


def test_every_template_has_sample_data():
    missing = [n for n in NAMES if n not in SAMPLES]
    assert not missing, f"add sample contexts to tests/samples.py for: {missing}"


@pytest.mark.parametrize("name", NAMES)
def test_template_renders_chinese_text(name):
    for context in SAMPLES[name]:
        out = renderer.render(name, context)
        assert out.text.strip(), name
        assert re.search(r"[\u4e00-\u9fff]", out.text), f"{name} has no Chinese text"
        assert "Traceback" not in out.text and "None" not in out.text, out.text
        assert len(out.title) <= 30


def test_strict_undefined():
    with pytest.raises(UndefinedError):
        renderer.render("errors/internal", {})


def test_user_text_is_escaped():
    out = renderer.render("input/not_command", {"text": "**粗** [链接](http://x) <b>"})
    assert "**粗**" not in out.text and "\\*\\*粗\\*\\*" in out.text
    assert "<b>" not in out.text and "&lt;b&gt;" in out.text
    assert md_escape("a_b#c|d`") == "a\\_b\\#c\\|d\\`"


def test_long_output_is_truncated():
    out = renderer.render("errors/unknown_command", {"name": "x" * 7000, "suggestions": []})
    assert len(out.text) < 6100 and "已截断" in out.text
