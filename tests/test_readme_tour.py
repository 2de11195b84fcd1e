"""The README's tour of the CLI is real output: every `$ aifactory ...` line in its console blocks is run, and
what it prints (stdout and stderr, at the 100-column terminal the tour was taken at) and its exit code must be
what the README shows.

Conventions in the README's console blocks: a line `...` stands for any number of lines; `exit N` after the
output is the command's exit code (`$ echo $?` followed by N says the same); a command marked `# (excerpt)`
prints JSON of which the README shows some keys (a dotted key is a path into the document). The lab's
commands (`sudo .venv/bin/aifactory lab ...`) need root and minutes: the lab integration test runs them.
Commands that write (init, render, new) run in a scratch copy of the repository's inputs, and so do the ones
that read what `new` wrote there (`my-factory/...`); the others run from the root.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
COLUMNS = "100"
WRITERS = {"init", "render", "new"}
SCAFFOLD = "my-factory/"  # the repository the tour's `aifactory new` writes


@dataclass
class Step:
    command: str
    comment: str
    expected: list[str] = field(default_factory=list)
    exit_code: int = 0


def tour_steps(text: str) -> list[Step]:
    """The `$ aifactory` steps of every ```console block, with their expected output and exit code."""
    steps: list[Step] = []
    for block in re.findall(r"```console\n(.*?)```", text, flags=re.S):
        current: Step | None = None
        after_echo = False
        for line in block.splitlines():
            if line.startswith("$ "):
                command, _, comment = line[2:].partition("  #")
                after_echo = command.strip() == "echo $?"
                if after_echo:
                    continue
                current = Step(command.strip(), comment.strip())
                steps.append(current)
            elif current is None:
                continue
            elif after_echo:
                current.exit_code = int(line)
            elif re.fullmatch(r"exit \d+", line):
                current.exit_code = int(line.split()[1])
            else:
                current.expected.append(line)
    return [s for s in steps if s.command.startswith("aifactory ")]


def _matches(expected: list[str], actual: list[str]) -> bool:
    """Line by line, where a `...` line matches any run of lines (trailing spaces ignored)."""
    exp = [e.rstrip() for e in expected]
    act = [a.rstrip() for a in actual]

    def at(i: int, j: int) -> bool:
        if i == len(exp):
            return j == len(act)
        if exp[i] == "...":
            return any(at(i + 1, k) for k in range(j, len(act) + 1))
        return j < len(act) and exp[i] == act[j] and at(i + 1, j + 1)

    return at(0, 0)


def _dig(doc: Any, dotted: str) -> Any:
    if isinstance(doc, dict) and dotted in doc:
        return doc[dotted]
    head, _, rest = dotted.partition(".")
    return _dig(doc[head], rest)


def _excerpt_holds(excerpt: Any, doc: Any) -> bool:
    if isinstance(excerpt, dict):
        return all(_excerpt_holds(value, _dig(doc, key)) for key, value in excerpt.items())
    return bool(excerpt == doc)


STEPS = tour_steps(README.read_text(encoding="utf-8"))


def test_the_tour_has_its_commands() -> None:
    commands = [s.command.split()[1] for s in STEPS]
    assert {"blueprints", "validate", "plan", "policy", "init", "render", "new"} <= set(commands)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The inputs the tour reads, in a scratch repository, so the commands that write leave this one alone."""
    root = tmp_path_factory.mktemp("tour")
    (root / ".git").mkdir()
    for name in ("blueprints", "stacks"):
        shutil.copytree(REPO / name, root / name)
    return root


@pytest.mark.parametrize("step", STEPS, ids=lambda s: s.command[:60])
def test_tour_step_prints_what_the_readme_shows(step: Step, scratch: Path) -> None:
    args = step.command.split()[1:]
    cwd = scratch if args[0] in WRITERS or any(a.startswith(SCAFFOLD) for a in args) else REPO
    env = {**os.environ, "COLUMNS": COLUMNS, "NO_COLOR": "1", "TERM": "dumb"}
    done = subprocess.run([sys.executable, str(REPO / "cli.py"), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == step.exit_code, done.stderr[-2000:]
    if "(excerpt)" in step.comment:
        assert _excerpt_holds(json.loads("\n".join(step.expected)), json.loads(done.stdout))
        return
    printed = (done.stdout + done.stderr).splitlines()
    assert _matches(step.expected, printed), "\n".join(printed)
