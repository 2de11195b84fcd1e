"""The README's tour of the CLI is real output: every `$ aifactory ...` line in its console blocks is run, and
what it prints (stdout and stderr, at the 100-column terminal the tour was taken at) and its exit code must be
what the README shows (conventions: tests/readme.py). Commands that write (init, render, new) run in a scratch
copy of the repository's inputs, and so do the ones that read what `new` wrote there (`my-factory/...`); the
others run from the root. tests/package/ runs the same tour from the built wheel.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.readme import COLUMNS, INPUTS, REPO, Step, check_step, in_scratch, readme_steps, tour_steps

STEPS = readme_steps()


def test_the_tour_has_its_commands() -> None:
    commands = [s.command.split()[1] for s in STEPS]
    assert {"blueprints", "validate", "plan", "policy", "init", "render", "new"} <= set(commands)


def test_the_parser_reads_exit_codes_and_excerpts() -> None:
    text = "```console\n$ aifactory a  # (excerpt)\n{}\n$ echo $?\n2\n$ aifactory b\nline\nexit 1\n```\n"
    first, second = tour_steps(text)
    assert (first.command, first.comment, first.exit_code) == ("aifactory a", "(excerpt)", 2)
    assert (second.command, second.expected, second.exit_code) == ("aifactory b", ["line"], 1)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The inputs the tour reads, in a scratch repository, so the commands that write leave this one alone."""
    root = tmp_path_factory.mktemp("tour")
    (root / ".git").mkdir()
    for name in INPUTS:
        shutil.copytree(REPO / name, root / name)
    return root


@pytest.mark.parametrize("step", STEPS, ids=lambda s: s.command[:60])
def test_tour_step_prints_what_the_readme_shows(step: Step, scratch: Path) -> None:
    cwd = scratch if in_scratch(step) else REPO
    env = {**os.environ, "COLUMNS": COLUMNS, "NO_COLOR": "1", "TERM": "dumb"}
    done = subprocess.run([sys.executable, str(REPO / "cli.py"), *step.args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    check_step(step, done.returncode, done.stdout, done.stderr)
