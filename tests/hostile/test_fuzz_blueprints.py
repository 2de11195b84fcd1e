"""Fuzz the CLI with mutated blueprints (issue 13, "Done when"): any input ends in a result or a clear refusal,
never an internal error (exit 3) or a traceback.

Hypothesis mutates the hostile base blueprint: its YAML tree (values replaced by other types, huge or negative
numbers, NaN, unicode and control characters, long strings, hostile paths; keys removed or added; lists grown)
and its text (bytes inserted, lines cut). Each example runs a real command (`validate`, `policy check`, `plan`)
in-process through the Typer app. CI runs a fixed, derandomized set of examples (reproducible, well under a
minute here); `AIFACTORY_FUZZ_EXAMPLES=5000` runs more, `AIFACTORY_FUZZ_RANDOM=1` draws new ones.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from aifactory.cli.main import app

HERE = Path(__file__).parent
BASE_TEXT = (HERE / "bases" / "good.yaml").read_text(encoding="utf-8")
BASE: dict[str, Any] = yaml.safe_load(BASE_TEXT)
EXAMPLES = int(os.environ.get("AIFACTORY_FUZZ_EXAMPLES", "400"))
RANDOM = os.environ.get("AIFACTORY_FUZZ_RANDOM") == "1"
REPRS = ("Traceback", "internal error", "YNode(", "Location(", "PosixPath(")
WORKDIR = Path(tempfile.mkdtemp(prefix="aifactory-fuzz-"))
(WORKDIR / ".git").mkdir()
(WORKDIR / "good.yaml").write_text(BASE_TEXT, encoding="utf-8")

HOSTILE_STRINGS = st.sampled_from([
    "", " ", "../../etc/passwd", "/dev/zero", "/proc/self/environ", "good.yaml", "./good.yaml", "a" * 5000,
    "$(touch /tmp/pwned)", "`id`", "x; rm -rf /", "NCCL_A=1\nB", "\u202e\u0000", "🙂" * 50, "1e309", "-0",
    "0x7fffffffffffffff", "AKIAQWERTYUIOPASDFGH", "https://u:p@h.example", "null", "~", "*anchor", "&a x",
    "!!python/object:os.system", "{", "[", "'", '"', "#", "10.0.0.0/0", "::/0", "999999999999TB", "1kW",
])
SCALARS = st.one_of(
    st.none(), st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=80), HOSTILE_STRINGS,
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=6), st.dictionaries(st.text(max_size=12), inner, max_size=4)),
    max_leaves=12,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


PATHS = _paths(BASE)[1:]


def _set(tree: Any, path: tuple[Any, ...], value: Any, delete: bool) -> Any:
    if not path:
        return value
    node = tree
    for key in path[:-1]:
        node = node[key]
    if delete and isinstance(node, dict):
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return tree


@st.composite
def tree_mutants(draw: st.DrawFn) -> str:
    tree = yaml.safe_load(BASE_TEXT)
    for _ in range(draw(st.integers(1, 4))):
        paths = _paths(tree)[1:]
        path = draw(st.sampled_from(paths or PATHS))
        try:
            tree = _set(tree, path, draw(VALUES), draw(st.booleans()) and draw(st.booleans()))
        except (KeyError, IndexError, TypeError):
            continue
    if draw(st.booleans()):
        key = draw(st.sampled_from(["extends", "compute", "site", "fabric", "zzz", "mlops", "storage"]))
        tree = _set(tree, (key,), draw(VALUES), False) if isinstance(tree, dict) else tree
    return yaml.safe_dump(tree, allow_unicode=draw(st.booleans()), sort_keys=False)


@st.composite
def text_mutants(draw: st.DrawFn) -> str:
    text = BASE_TEXT
    for _ in range(draw(st.integers(1, 3))):
        pos = draw(st.integers(0, len(text)))
        kind = draw(st.sampled_from(["insert", "cut", "line"]))
        if kind == "insert":
            text = text[:pos] + draw(st.one_of(st.text(max_size=20), HOSTILE_STRINGS)) + text[pos:]
        elif kind == "cut":
            text = text[:pos] + text[pos + draw(st.integers(1, 40)) :]
        else:
            lines = text.splitlines(keepends=True)
            n = draw(st.integers(0, max(0, len(lines) - 1)))
            if lines:
                prefix = draw(st.sampled_from(["  ", "\t", "- ", "? ", ": ", "&a ", "*a "]))
                text = "".join([*lines[:n], prefix + lines[n], *lines[n + 1 :]])
    return text


COMMANDS = st.sampled_from([["validate"], ["policy", "check"], ["plan", "--format", "json"]])


@settings(max_examples=EXAMPLES, deadline=None, derandomize=not RANDOM, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(text=st.one_of(tree_mutants(), text_mutants()), command=COMMANDS)
def test_mutated_blueprints_never_crash(text: str, command: list[str]) -> None:
    target = WORKDIR / "mutant.yaml"
    target.write_bytes(text.encode("utf-8", errors="surrogatepass"))
    result = CliRunner().invoke(app, [*command, str(target)], catch_exceptions=True)
    exc = result.exception
    assert exc is None or isinstance(exc, SystemExit), f"{type(exc).__name__}: {exc}\n--- input:\n{text}"
    assert result.exit_code in (0, 1, 2), (result.exit_code, result.stderr, text)
    found = [r for r in REPRS if r in result.stdout + result.stderr]
    assert not found, (found, result.stderr, text)
