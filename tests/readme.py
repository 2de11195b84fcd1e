"""The README's tour of the CLI as data: its `$ aifactory ...` steps with the output and exit code they show,
and the matcher that compares a run with them. Used by tests/test_readme_tour.py (from the checkout) and
tests/package/ (from the built wheel, outside any checkout).

Conventions in the README's console blocks: a line `...` stands for any number of lines; `exit N` after the
output is the command's exit code (`$ echo $?` followed by N says the same); a command marked `# (excerpt)`
prints JSON of which the README shows some keys (a dotted key is a path into the document). The lab's
commands (`sudo .venv/bin/aifactory lab ...`) need root and minutes: the lab integration test runs them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
COLUMNS = "100"  # the terminal width the tour was taken at
WRITERS = {"init", "render", "new", "bundle"}  # commands that write: they run in a scratch copy of the tour's inputs
DEPLOY_EXTRA = "[deploy]"  # a step's comment: it needs the deploy extra (Ansible reads the roles), or a step that does
SCAFFOLD = "my-factory/"  # the repository the tour's `aifactory new` writes; steps that read it run there too
INPUTS = ("blueprints", "stacks")  # what the tour's commands read from the folder they run in


@dataclass
class Step:
    command: str
    comment: str
    expected: list[str] = field(default_factory=list)
    exit_code: int = 0

    @property
    def args(self) -> list[str]:
        return self.command.split()[1:]


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


def in_scratch(step: Step) -> bool:
    """Whether the step writes, or reads what a writing step left, so it runs in the scratch repository."""
    return step.args[0] in WRITERS or any(a.startswith(SCAFFOLD) for a in step.args)


def readme_steps() -> list[Step]:
    return tour_steps(README.read_text(encoding="utf-8"))


def matches(expected: list[str], actual: list[str]) -> bool:
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


def excerpt_holds(excerpt: Any, doc: Any) -> bool:
    if isinstance(excerpt, dict):
        return all(excerpt_holds(value, _dig(doc, key)) for key, value in excerpt.items())
    return bool(excerpt == doc)


def check_step(step: Step, returncode: int, stdout: str, stderr: str) -> None:
    """Assert that a run printed what the README shows for `step`, and exited as it says."""
    assert returncode == step.exit_code, (stdout + stderr)[-2000:]
    if "(excerpt)" in step.comment:
        assert excerpt_holds(json.loads("\n".join(step.expected)), json.loads(stdout))
        return
    printed = (stdout + stderr).splitlines()
    assert matches(step.expected, printed), "\n".join(printed)
