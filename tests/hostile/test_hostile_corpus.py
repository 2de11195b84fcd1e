"""The hostile corpus: every broken file or abusive flag exits 2 with one located message and a fix.

Cases run as real `python cli.py ...` processes in copies of tests/hostile, snapshotted before and after so a
case that writes, changes or removes any file fails. Start-up costs ~0.4 s a process, so the file cases share
one `validate` process (each file's own message is still checked) and each also runs alone in-process.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from aifactory.cli.main import app
from tests.conftest import run_cli
from tests.hostile.generate import GENERATED, write_generated

HERE = Path(__file__).parent
CASES: dict[str, dict[str, Any]] = yaml.safe_load((HERE / "expected.yaml").read_text(encoding="utf-8"))
FILE_CASES = sorted(n for n, c in CASES.items() if "args" not in c)
ARG_CASES = sorted(n for n, c in CASES.items() if "args" in c)


def _where(case: dict[str, Any]) -> str:
    """The `file:line:` (or, for a flag, `--flag value:`) the message must start with."""
    at = case.get("at", case.get("file"))
    return f"{at}:{case['line']}:" if case.get("line") else f"{at}:"


def _snapshot(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
            for p in sorted(root.rglob("*"))}


@dataclass
class Outcome:
    result: subprocess.CompletedProcess[str]
    before: dict[str, str]
    after: dict[str, str]


def _make_copy(master: Path, dest: Path) -> Path:
    """A copy of the corpus marked as a repository, with a valid blueprint just outside it."""
    repo = dest / "repo"
    shutil.copytree(master, repo)
    (dest / "outside.yaml").write_bytes((HERE / "bases" / "good.yaml").read_bytes())
    return repo


def _run_in_copy(master: Path, dest: Path, args: list[str]) -> Outcome:
    repo = _make_copy(master, dest)
    before = _snapshot(dest)
    result = run_cli(*args, cwd=repo)
    return Outcome(result, before, _snapshot(dest))


@pytest.fixture(scope="module")
def master(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hostile-master")
    shutil.copytree(HERE, root, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    (root / ".git").mkdir()  # `extends:` may not leave the enclosing repository: this copy is one
    write_generated(root)
    return root


@pytest.fixture(scope="module")
def batch(master: Path, tmp_path_factory: pytest.TempPathFactory) -> Outcome:
    files = [CASES[n]["file"] for n in FILE_CASES]
    return _run_in_copy(master, tmp_path_factory.mktemp("batch"), ["validate", *files])


@pytest.fixture(scope="module")
def outcomes(master: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    """The flag abuses, one process each (they differ in command and flags), run in parallel."""

    def run(name: str) -> tuple[str, Outcome]:
        args = [str(a) for a in CASES[name]["args"]]
        return name, _run_in_copy(master, tmp_path_factory.mktemp(f"case-{name}"), args)

    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        return dict(pool.map(run, ARG_CASES))


@pytest.fixture
def corpus_copy(master: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    repo = _make_copy(master, tmp_path)
    monkeypatch.chdir(repo)
    yield repo


def _blocks(stderr: str) -> list[str]:
    """Split `N problems:` output into one block per problem (a block's `fix:` line is indented)."""
    out: list[str] = []
    for line in stderr.splitlines()[1:]:
        if line.startswith("  ") and out:
            out[-1] += "\n" + line
        else:
            out.append(line)
    return out


def _assert_clean(out: Outcome) -> None:
    assert out.result.returncode == 2, out.result.stderr
    assert "Traceback" not in out.result.stderr + out.result.stdout
    assert out.result.stdout == ""
    assert out.before == out.after  # nothing written, changed or removed


def test_corpus_is_big_enough_and_every_file_is_listed() -> None:
    files = {p.name for p in (HERE / "cases").glob("*.yaml")} | {f"{n}.yaml" for n in GENERATED}
    listed = {Path(c["file"]).name for c in CASES.values() if "file" in c}
    assert files == listed
    assert len(files) >= 40


def test_all_files_in_one_process_exit_2_each_with_its_own_located_message(batch: Outcome) -> None:
    _assert_clean(batch)
    assert batch.result.stderr.startswith(f"error: {len(FILE_CASES)} problems:\n")
    blocks = _blocks(batch.result.stderr)
    assert len(FILE_CASES) == len(blocks)
    for name, block in zip(FILE_CASES, blocks, strict=True):
        case = CASES[name]
        assert block.startswith(_where(case)), (name, block)
        assert case["message"] in block, (name, block)
        assert "\n  fix: " in block, (name, block)


@pytest.mark.parametrize("name", ARG_CASES)
def test_flag_abuse_exits_2_with_one_message_and_writes_nothing(name: str, outcomes: dict[str, Outcome]) -> None:
    case, out = CASES[name], outcomes[name]
    _assert_clean(out)
    stderr = out.result.stderr
    assert stderr.startswith(f"error: {_where(case)}"), stderr
    assert case["message"] in stderr
    assert "\n  fix: " in stderr
    assert "problems:" not in stderr


def test_existing_stack_file_is_left_byte_for_byte(outcomes: dict[str, Outcome]) -> None:
    name = "repo/stacks/Pulumi.de-stuttgart.yaml"
    out = outcomes["init-exists"]
    assert hashlib.sha256((HERE / "stacks/Pulumi.de-stuttgart.yaml").read_bytes()).hexdigest() == out.after[name]


@pytest.mark.parametrize("name", FILE_CASES)
def test_file_alone_gives_one_message_with_file_line_and_fix(name: str, corpus_copy: Path) -> None:
    case = CASES[name]
    before = _snapshot(corpus_copy)
    result = CliRunner().invoke(app, ["validate", case["file"]])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"error: {_where(case)}"), result.stderr
    assert case["message"] in result.stderr
    assert "\n  fix: " in result.stderr
    assert "problems:" not in result.stderr
    assert before == _snapshot(corpus_copy)


@pytest.mark.parametrize("name", FILE_CASES)
def test_file_in_json_names_one_problem_at_the_expected_line(name: str, corpus_copy: Path) -> None:
    case = CASES[name]
    result = CliRunner().invoke(app, ["validate", "--format", "json", case["file"]])
    assert result.exit_code == 2, result.output
    report = json.loads(result.stdout)
    problems = report["results"][0]["problems"]
    assert [(case.get("at", case["file"]), case["line"])] == [(p["file"], p["line"]) for p in problems]
    assert problems[0]["hint"]
    assert False is report["valid"]
