"""The hostile corpus by category: injection, paths, bounds, strict data, messages, atomic outputs, secrets and
waivers.

Each folder's `cases.yaml` lists cases as `name: {args, exit, message, at}`; every case runs as a real
`python cli.py ARGS` process (a NUL byte cannot travel in argv, so those run in-process) in one copy of
tests/hostile per category, prepared by `_prepare` with what git cannot hold (FIFOs, symlink loops, files
of many MiB). A case passes when it exits with `exit`, prints nothing on stdout, no traceback and no Python
repr, its one message starts with `error: AT` and holds `message`, and the copy is unchanged afterwards. A
case with `stdout` is a report, not a refusal: stdout holds `stdout` (and not `not_stdout`). A case with `secret`
must not print that text anywhere.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from aifactory.cli.main import app
from tests.conftest import run_cli
from tests.hostile.test_hostile_corpus import _snapshot

HERE = Path(__file__).parent
CATEGORIES = ("injection", "paths", "bounds", "strict", "messages", "atomic", "secrets", "waivers")
CASES: dict[str, dict[str, dict[str, Any]]] = {
    c: yaml.safe_load((HERE / c / "cases.yaml").read_text(encoding="utf-8")) for c in CATEGORIES
}
REPRS = ("YNode(", "Location(", "Traceback", "PosixPath(", "Errno", "python -X", "sys.setrecursionlimit")


def _prepare(repo: Path) -> None:
    """Write the inputs git cannot hold: special files, loops, and files too big to commit."""
    os.mkfifo(repo / "paths" / "fifo.yaml")
    (repo / "paths" / "loop-a.yaml").symlink_to("loop-b.yaml")
    (repo / "paths" / "loop-b.yaml").symlink_to("loop-a.yaml")
    (repo / "paths" / "dangling.yaml").symlink_to("missing.yaml")
    bounds = repo / "bounds"
    (bounds / "big-baseline.json").write_bytes(b'{"version": 1, "entries": []}' + b" " * (16 << 20))
    (bounds / "big-report.json").write_bytes(b'{"kind": "aifactory.burnin.report"}' + b" " * (32 << 20))
    (bounds / "big-config.yaml").write_bytes(b"# padding\n" * 110_000)
    (bounds / "deep-baseline.json").write_bytes(b"[" * 200_000 + b"]" * 200_000)
    (bounds / "deep-report.json").write_bytes(b"[" * 200_000 + b"]" * 200_000)
    (repo / "atomic" / "dangling").symlink_to("missing-folder")


def _copy(dest: Path) -> Path:
    repo = dest / "repo"
    shutil.copytree(HERE, repo, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    (repo / ".git").mkdir()
    (dest / "outside.yaml").write_bytes((HERE / "bases" / "good.yaml").read_bytes())
    _prepare(repo)
    return repo


def _run(repo: Path, args: list[str]) -> tuple[int, str, str]:
    if any("\x00" in a for a in args):
        cwd = Path.cwd()
        os.chdir(repo)
        try:
            result = CliRunner().invoke(app, args)
        finally:
            os.chdir(cwd)
        return result.exit_code, result.stdout, result.stderr
    try:
        proc = run_cli(*args, cwd=repo, timeout=60)
    except subprocess.TimeoutExpired:
        return -1, "", "timed out after 60 s"
    return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for category in CATEGORIES:
        repo = _copy(tmp_path_factory.mktemp(category))
        before = _snapshot_safe(repo)
        names = sorted(CASES[category])
        argvs = [[str(a) for a in CASES[category][n]["args"]] for n in names]
        with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
            runs = list(pool.map(_run, [repo] * len(argvs), argvs))
        after = _snapshot_safe(repo)
        out[category] = {"runs": dict(zip(names, runs, strict=True)), "changed": sorted(
            k for k in before.keys() | after.keys() if before.get(k) != after.get(k))}
    return out


def _snapshot_safe(root: Path) -> dict[str, str]:
    """The corpus snapshot, with special files (which cannot be hashed by reading) recorded by type."""
    special = {p for p in root.rglob("*") if p.is_symlink() or p.is_fifo()}
    for p in special:
        p.rename(p.with_name(p.name + ".aside"))
    try:
        return _snapshot(root) | {str(p.relative_to(root)): "special" for p in special}
    finally:
        for p in special:
            p.with_name(p.name + ".aside").rename(p)


def test_at_least_a_hundred_new_cases() -> None:
    assert sum(len(c) for c in CASES.values()) >= 100
    assert all(len(CASES[c]) >= 10 for c in CATEGORIES)


@pytest.mark.parametrize("category", CATEGORIES)
def test_no_case_writes_or_changes_a_file(category: str, results: dict[str, dict[str, Any]]) -> None:
    assert [] == results[category]["changed"]


@pytest.mark.parametrize(("category", "name"), [(c, n) for c in CATEGORIES for n in sorted(CASES[c])])
def test_case_is_refused_with_one_located_message(category: str, name: str,
                                                  results: dict[str, dict[str, Any]]) -> None:
    case = CASES[category][name]
    code, stdout, stderr = results[category]["runs"][name]
    assert case["exit"] == code, stderr
    assert not [r for r in REPRS if r in stdout + stderr], stdout + stderr
    if "secret" in case:
        assert case["secret"] not in stdout + stderr
    if "stdout" in case:
        assert case["stdout"] in stdout, stdout
        assert case.get("not_stdout", "\x00") not in stdout, stdout
        return
    assert "" == stdout
    assert not [r for r in REPRS if r in stderr], stderr
    assert "problems:" not in stderr
    assert stderr.startswith(f"error: {case.get('at', '')}"), stderr
    assert case["message"] in stderr, stderr
    assert "\n  fix: " in stderr, stderr
