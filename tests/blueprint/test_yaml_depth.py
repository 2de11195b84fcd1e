"""The nesting limit is the project's own: its message and line do not depend on which parser gives up first.

PyYAML 6.0.4's libyaml scanner refuses flow collections nested 1000 deep with its own message; 6.0.3 and the
pure-Python parser do not. The flow scan runs before any parser, so every version gives the same refusal.
"""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from aifactory.blueprint import yamlsrc
from aifactory.blueprint.yamlsrc import MAX_DEPTH, parse_text, to_plain
from aifactory.errors import UserError


def _refusal(text: str) -> UserError:
    with pytest.raises(UserError) as info:
        parse_text(text, "deep.yaml")
    return info.value


def _parser_that_gives_up(*_args: object, **_kwargs: object) -> object:
    raise yaml.scanner.ScannerError("while increasing flow level", None, "exceeded maximum nesting depth", None)


@pytest.mark.parametrize("text", [
    "name: x\nx: " + "[" * 2000 + "]" * 2000 + "\n",
    "name: x\nx: " + "{a: " * 2000 + "1" + "}" * 2000 + "\n",
    "name: x\nx:\n  - " + "[" * 60 + "]" * 60 + "\n",
    "name: x\nx: [\n" + "[\n" * 80 + "]\n" * 81,
])  # fmt: skip
def test_deep_flow_is_refused_before_the_parser_runs(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yamlsrc.yaml, "parse", _parser_that_gives_up)
    monkeypatch.setattr(yamlsrc.yaml, "compose_all", _parser_that_gives_up)
    err = _refusal(text)
    assert f"nests deeper than {MAX_DEPTH} levels" in err.problems[0].message
    assert err.problems[0].location.line >= 2


def test_both_pyyaml_parsers_give_the_project_s_message() -> None:
    text = "name: x\nx: " + "[" * 5000 + "]" * 5000 + "\n"
    for loader in {yaml.SafeLoader, getattr(yaml, "CSafeLoader", yaml.SafeLoader)}:
        original = yamlsrc._LOADER
        try:
            yamlsrc._LOADER = loader
            err = _refusal(text)
        finally:
            yamlsrc._LOADER = original
        # the flow scan counts flow levels alone: the 50th bracket (column 4 + 49) is one past the limit
        assert str(err.problems[0].location) == "deep.yaml:2:53"


@pytest.mark.parametrize("text", [
    # brackets that open no collection: in quoted, plain and block scalars, and in comments
    "a: '" + "[" * 100 + "'\n",
    'a: "' + "{" * 100 + '\\" [["\n',
    "a: x" + "[" * 100 + "\n",
    "a: |\n  " + "[" * 100 + "\n  more [[[\nb: [1, 2]\n",
    "a: >-\n\n  " + "{" * 100 + "\nb: {c: [d]}\n",
    "# " + "[" * 100 + "\na: 1 # " + "{" * 100 + "\n",
    "a: [it's, " + "'[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[['" + ", b]\n",
    "'k[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[': [1]\n",
])  # fmt: skip
def test_brackets_inside_scalars_and_comments_count_for_nothing(text: str) -> None:
    yamlsrc._check_flow_depth(text, "ok.yaml")
    assert to_plain(parse_text(text, "ok.yaml")) == yaml.safe_load(text)


def _nested(depth: int, flow: bool) -> str:
    if flow:
        return "a: " + "[" * depth + "1" + "]" * depth + "\n"
    return "".join("  " * i + f"k{i}:\n" for i in range(depth)) + "  " * depth + "v: 1\n"


@given(st.integers(min_value=1, max_value=MAX_DEPTH - 1), st.booleans())
def test_documents_within_the_limit_are_kept(depth: int, flow: bool) -> None:
    text = _nested(depth, flow)
    assert to_plain(parse_text(text, "ok.yaml")) == yaml.safe_load(text)


@given(st.integers(min_value=MAX_DEPTH + 1, max_value=400), st.booleans())
def test_documents_past_the_limit_are_refused_alike(depth: int, flow: bool) -> None:
    err = _refusal(_nested(depth, flow))
    assert f"nests deeper than {MAX_DEPTH} levels" in err.problems[0].message
