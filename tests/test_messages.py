"""Messages: a code and numbers in, the same text in English as before, a Chinese one, and back from JSON."""

from __future__ import annotations

import json
import re

import pytest

from orchestrator import i18n, messages
from orchestrator.messages import TEXTS, msg


def test_a_verdict_renders_in_both_languages_from_its_numbers() -> None:
    m = msg("faster", who="go", pct=10.73, lo=9.01, hi=12.46)
    assert m.text() == "go faster by 10.7 % [9.0, 12.5]"
    assert m.text("zh-CN") == "go 快 10.7 % [9.0, 12.5]"
    assert m.as_dict()["params"]["pct"] == 10.73  # the number itself, for a reader of summary.json


def test_parts_and_nested_messages_survive_json() -> None:
    m = msg("claim_own_work", claimed=-3.0, lo=-2.5, hi=-1.0).followed_by(
        msg("own_work_why", ratio_view=msg("word", word="not confirmed")))
    back = json.loads(json.dumps(m.as_dict()))
    assert messages.render(back) == m.text() and "Ratio view: not confirmed" in m.text()
    assert messages.render(back, "zh-CN").endswith("比值视角：未得到证实")
    assert i18n.translator("zh-CN")(back) == messages.render(back, "zh-CN")


@pytest.mark.parametrize("code", sorted(TEXTS))
def test_both_languages_take_the_same_parameters(code: str) -> None:
    en, zh = TEXTS[code]
    names = lambda t: sorted(set(re.findall(r"\{(\w+)", t)))  # noqa: E731
    assert names(en) == names(zh), code


def test_an_unknown_code_is_a_bug_not_a_silent_text() -> None:
    with pytest.raises(KeyError):
        msg("faster_than_light")
