"""Run a composite action's shell steps the way a GitHub runner does, on this machine.

Each `run:` step goes to `bash --noprofile --norc -eo pipefail` (GitHub's `shell: bash`) in the workspace, with
GITHUB_OUTPUT (fresh per step), GITHUB_STEP_SUMMARY, GITHUB_ACTION_PATH and RUNNER_TEMP set to files and
folders of the test. `${{ ... }}` in `env:`, `with:` and outputs is evaluated for the contexts the action uses
(inputs, github, steps.*.outputs, runner.temp); `if:` for the forms it uses (comparisons joined by `&&`). An
expression of another shape fails the test rather than being guessed. `uses:` steps are not run: they are
recorded with their evaluated `with:`, and replaced by `stand_ins` where a test supplies one.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
COMPARE = re.compile(r"^([a-z_][\w.-]*)\s*(==|!=)\s*'([^']*)'$")


@dataclass
class StepResult:
    id: str
    name: str
    ran: bool
    code: int = 0
    stdout: str = ""
    stderr: str = ""
    outputs: dict[str, str] = field(default_factory=dict)
    uses: str = ""
    with_: dict[str, str] = field(default_factory=dict)


@dataclass
class ActionRun:
    steps: list[StepResult]
    summary: str
    outputs: dict[str, str]

    @property
    def failed(self) -> StepResult | None:
        return next((s for s in self.steps if s.ran and s.code != 0), None)

    def step(self, step_id: str) -> StepResult:
        return next(s for s in self.steps if s.id == step_id)

    @property
    def log(self) -> str:
        return "".join(s.stdout + s.stderr for s in self.steps)


def _outputs(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    for line in lines:
        key, sep, value = line.partition("=")
        assert sep and "<<" not in key, f"unexpected GITHUB_OUTPUT line {line!r}"
        out[key] = value
    return out


class Context:
    def __init__(self, inputs: dict[str, str], github: dict[str, str], runner: dict[str, str]) -> None:
        self.inputs = inputs
        self.github = github
        self.runner = runner
        self.steps: dict[str, dict[str, str]] = {}

    def value(self, path: str) -> str:
        head, _, rest = path.partition(".")
        if head == "inputs":
            return self.inputs[rest]  # KeyError: the action reads an input it does not declare
        if head == "github":
            return self.github[rest]
        if head == "runner":
            return self.runner[rest]
        if head == "steps":
            step_id, outputs, key = rest.split(".")
            assert outputs == "outputs", path
            return self.steps.get(step_id, {}).get(key, "")
        raise AssertionError(f"expression context not handled by the test runner: {path}")

    def expand(self, text: str) -> str:
        return EXPR.sub(lambda m: self.value(m.group(1)), str(text))

    def condition(self, expr: str) -> bool:
        expr = EXPR.sub(lambda m: m.group(1), expr.strip())
        result = True
        for part in expr.split("&&"):
            m = COMPARE.match(part.strip())
            assert m, f"`if:` form not handled by the test runner: {part!r}"
            left = self.value(m.group(1))
            result = result and ((left == m.group(3)) == (m.group(2) == "=="))
        return result


def run_action(
    action: Path,
    workspace: Path,
    temp: Path,
    inputs: dict[str, str],
    github: dict[str, str],
    env: dict[str, str],
    stand_ins: dict[str, Callable[[Context], dict[str, str]]] | None = None,
) -> ActionRun:
    """Run `action` (action.yml) as GitHub would, until a step fails; `stand_ins` maps a step id to a function
    returning that step's outputs instead of running it."""
    doc: dict[str, Any] = yaml.safe_load(action.read_text(encoding="utf-8"))
    declared = doc.get("inputs", {})
    given = {k: str(v.get("default", "")) for k, v in declared.items()}
    unknown = set(inputs) - set(declared)
    assert not unknown, f"inputs the action does not declare: {unknown}"
    given.update(inputs)
    runner_temp = temp / "runner"
    runner_temp.mkdir(parents=True, exist_ok=True)
    summary = temp / "step_summary.md"
    summary.touch()
    ctx = Context(given, {"action_path": str(action.parent), **github}, {"temp": str(runner_temp)})
    results: list[StepResult] = []
    stopped = False
    for n, step in enumerate(doc["runs"]["steps"]):
        step_id = step.get("id", f"step{n}")
        result = StepResult(step_id, step.get("name", step.get("uses", "")), ran=False)
        results.append(result)
        if stopped or ("if" in step and not ctx.condition(step["if"])):
            continue  # after a failed step GitHub runs only `always()`/`failure()` steps; the action has none
        if stand_ins and step_id in stand_ins:
            result.ran = True
            result.outputs = stand_ins[step_id](ctx)
        elif "uses" in step:
            result.ran = True
            result.uses = step["uses"]
            result.with_ = {k: ctx.expand(v) for k, v in step.get("with", {}).items()}
        else:
            assert step.get("shell") == "bash", f"step {step_id} must say `shell: bash`"
            output = temp / f"output-{n}"
            output.touch()
            script = temp / f"step-{n}.sh"
            script.write_text(step["run"], encoding="utf-8")
            step_env = {
                **env,
                "GITHUB_OUTPUT": str(output),
                "GITHUB_STEP_SUMMARY": str(summary),
                "GITHUB_ACTION_PATH": str(action.parent),
                "GITHUB_WORKSPACE": str(workspace),
                "RUNNER_TEMP": str(runner_temp),
                **{k: ctx.expand(v) for k, v in step.get("env", {}).items()},
            }
            done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
                                  cwd=workspace, env=step_env, capture_output=True, text=True, timeout=600,
                                  check=False)
            result.ran = True
            result.code, result.stdout, result.stderr = done.returncode, done.stdout, done.stderr
            result.outputs = _outputs(output)
        ctx.steps[step_id] = result.outputs
        stopped = result.code != 0
    outputs = {k: ctx.expand(v["value"]) for k, v in doc.get("outputs", {}).items()}
    return ActionRun(results, summary.read_text(encoding="utf-8"), outputs)


def base_env(path_dirs: list[Path]) -> dict[str, str]:
    """A runner-like environment: this machine's PATH behind the given folders, HOME, no GITHUB_* leaking in."""
    keep = {k: v for k, v in os.environ.items() if k in ("HOME", "LANG", "LC_ALL", "TMPDIR", "PIP_INDEX_URL",
                                                          "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_CONFIG_FILE")}
    path = os.pathsep.join([*(str(p) for p in path_dirs), os.environ.get("PATH", "/usr/bin:/bin")])
    return {**keep, "PATH": path, "CI": "true", "GITHUB_ACTIONS": "true", "NO_COLOR": "1", "COLUMNS": "100"}
