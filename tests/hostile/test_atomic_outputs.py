"""Outputs are atomic as a whole (issue 13, item 3): `plan --out DIR` and `render --out DIR` swap a complete
folder in, an interruption at any moment leaves the complete old or the complete new output, a later run
removes the temporaries, and files get the umask's mode.

The kill test interrupts the write phase many times: a forked copy of this process (everything imported, the
files already in memory) runs `replace_tree` with a pause after each file (`AIFACTORY_TEST_WRITE_DELAY`), and
is sent SIGINT, SIGTERM or SIGKILL at a random moment of it. A few real `aifactory plan` processes are killed
the same way, once their temporary folder appears.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from aifactory import io
from aifactory.errors import UserError

HERE = Path(__file__).parent
CLI = HERE.parents[1] / "cli.py"
GOOD = HERE / "bases" / "good.yaml"
SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGKILL)


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".aifactory-tmp-" in p.name or ".aifactory-old-" in p.name)


def _plan(out: Path, *extra: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, str(CLI), "plan", str(GOOD), "--out", str(out), *extra],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ, **(env or {})},
    )


@pytest.fixture(scope="module")
def references(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """The complete old output (2 nodes) and new output (3 nodes) of `plan --out`, from clean runs."""
    root = tmp_path_factory.mktemp("refs")
    old, new = _plan(root / "old"), _plan(root / "new", "--set", "compute.nodes=3")
    assert (old.wait(120), new.wait(120)) == (0, 0)
    trees = _tree(root / "old"), _tree(root / "new")
    assert trees[0] != trees[1] and set(trees[0]) >= {"plan.json", io.MARKER}
    return trees


def _child(out: str, files: dict[str, bytes], delay: str, exchange: bool) -> None:
    os.environ["AIFACTORY_TEST_WRITE_DELAY"] = delay
    if not exchange:
        io._exchange = lambda a, b: False  # type: ignore[assignment]  # the portable two-rename path
    try:
        io.replace_tree(out, files)
    except KeyboardInterrupt:
        os._exit(130)


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2", "two-renames"])
def test_killed_at_random_points_leaves_old_or_new(
    tmp_path: Path, references: tuple[dict[str, bytes], dict[str, bytes]], exchange: bool
) -> None:
    old, new = references
    strip = {k: v for k, v in new.items() if k != io.MARKER}
    out = tmp_path / "plan"
    io.replace_tree(out, {k: v for k, v in old.items() if k != io.MARKER})
    rng = random.Random(13)
    ctx = multiprocessing.get_context("fork")
    seen = {"old": 0, "new": 0}

    def start() -> tuple[multiprocessing.process.BaseProcess, float]:
        proc = ctx.Process(target=_child, args=(str(out), strip, "0.01", exchange))
        proc.start()
        deadline = time.monotonic() + 10
        while not _leftovers(tmp_path) and proc.is_alive() and time.monotonic() < deadline:
            time.sleep(0.001)  # the write phase has begun: its temporary folder is there
        return proc, time.monotonic()

    # How long the write phase takes on this machine now (a loaded machine is slower than the delays add up to):
    # the kills are spread over it and a little past it, so they land before, during and after the swap.
    proc, began = start()
    proc.join(60)
    phase = time.monotonic() - began
    io.replace_tree(out, {k: v for k, v in old.items() if k != io.MARKER})
    for _ in range(40):
        proc, _began = start()
        time.sleep(rng.uniform(0.0, phase * 1.3))
        assert proc.pid is not None
        with contextlib.suppress(ProcessLookupError):  # it finished first
            os.kill(proc.pid, rng.choice(SIGNALS))
        proc.join(10)
        if not exchange:
            io.cleanup(out)  # the next run's first step; the two-rename path may have left DIR aside
        got = _tree(out)
        assert got in (old, new), sorted(got)
        seen["old" if got == old else "new"] += 1
        if got == new:  # back to the old output for the next round
            io.replace_tree(out, {k: v for k, v in old.items() if k != io.MARKER})
    assert seen["old"] and seen["new"], seen  # the kills landed on both sides of the swap
    io.replace_tree(out, strip)
    assert _tree(out) == new
    assert [] == _leftovers(tmp_path)


def test_killed_cli_processes_leave_old_or_new(
    tmp_path: Path, references: tuple[dict[str, bytes], dict[str, bytes]]
) -> None:
    old, new = references
    out = tmp_path / "plan"
    assert _plan(out).wait(120) == 0
    rng = random.Random(7)
    for sig in SIGNALS * 2:
        proc = _plan(out, "--set", "compute.nodes=3", env={"AIFACTORY_TEST_WRITE_DELAY": "0.05"})
        deadline = time.monotonic() + 60
        while not _leftovers(tmp_path) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)  # wait for the write phase: its temporary folder appears
        time.sleep(rng.uniform(0, 0.4))
        proc.send_signal(sig)
        proc.wait(60)
        assert _tree(out) in (old, new)
    assert _plan(out, "--set", "compute.nodes=3").wait(120) == 0
    assert _tree(out) == new
    assert [] == _leftovers(tmp_path)  # the last run removed what the killed ones left


def test_stale_old_folder_comes_back_when_dir_is_missing(tmp_path: Path) -> None:
    aside = tmp_path / ".plan.aifactory-old-0123"
    aside.mkdir()
    (aside / "plan.json").write_text("{}\n")
    (tmp_path / ".plan.aifactory-tmp-half").mkdir()
    io.cleanup(tmp_path / "plan")
    assert (tmp_path / "plan" / "plan.json").read_text() == "{}\n"
    assert [] == _leftovers(tmp_path)


def test_files_follow_the_umask(tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        io.replace_tree(tmp_path / "a", {"x.txt": "x", "sub/y.txt": "y"})
        io.atomic_write(tmp_path / "b.txt", "b")
        os.umask(0o027)
        io.replace_tree(tmp_path / "c", {"z.txt": "z"})
    finally:
        os.umask(previous)
    assert 0o644 == (tmp_path / "a" / "x.txt").stat().st_mode & 0o777
    assert 0o644 == (tmp_path / "a" / "sub" / "y.txt").stat().st_mode & 0o777
    assert 0o755 == (tmp_path / "a").stat().st_mode & 0o777
    assert 0o644 == (tmp_path / "b.txt").stat().st_mode & 0o777
    assert 0o640 == (tmp_path / "c" / "z.txt").stat().st_mode & 0o777


def test_a_folder_aifactory_did_not_write_is_not_replaced(tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(UserError, match="did not write"):
        io.replace_tree(tmp_path / "mine", {"plan.json": "{}"})
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
    io.replace_tree(tmp_path / "ours", {"a": "1", "b": "2"})
    io.replace_tree(tmp_path / "ours", {"a": "3"})
    assert _tree(tmp_path / "ours") == {"a": b"3", io.MARKER: (tmp_path / "ours" / io.MARKER).read_bytes()}


def test_a_failed_write_keeps_the_old_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    io.replace_tree(tmp_path / "out", {"a": "old"})
    calls = []

    def failing(path: Path, raw: bytes, mode: int) -> None:
        calls.append(path)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        real(path, raw, mode)

    real = io._write_file
    monkeypatch.setattr(io, "_write_file", failing)
    with pytest.raises(UserError, match="No space left"):
        io.replace_tree(tmp_path / "out", {"a": "new", "b": "new"})
    assert (tmp_path / "out" / "a").read_text() == "old"
    assert [] == _leftovers(tmp_path)


def test_json_written_is_strict() -> None:
    text = io.dumps_json({"b": [float("nan"), 1.5], "a": float("-inf"), "c": (float("inf"),)})
    assert '{\n  "a": null,\n  "b": [\n    null,\n    1.5\n  ],\n  "c": [\n    null\n  ]\n}\n' == text


def test_an_output_from_before_the_marker_is_replaced(tmp_path: Path) -> None:
    old = tmp_path / "k8s"
    (old / "sub").mkdir(parents=True)
    (old / "a.yaml").write_text("old")
    (old / "sub" / "b.yaml").write_text("old")
    io.replace_tree(old, {"a.yaml": "new", "sub/b.yaml": "new", "c.yaml": "new"})
    assert (old / "a.yaml").read_text() == "new" and (old / io.MARKER).is_file()
    (tmp_path / "k9").mkdir()
    (tmp_path / "k9" / "a.yaml").write_text("old")
    (tmp_path / "k9" / "mine.txt").write_text("keep")
    with pytest.raises(UserError, match="did not write"):
        io.replace_tree(tmp_path / "k9", {"a.yaml": "new"})
