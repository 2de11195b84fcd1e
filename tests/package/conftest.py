"""The built wheel, installed into a clean virtual environment: what a user gets from `pip install`.

`wheel_venv` (session-scoped, shared by every test that needs the installed product) builds the wheel from a
copy of this checkout (`python -m build --wheel --no-isolation`: the build tools come from the test's own
environment), makes a fresh `python -m venv`, installs the locked core set `requirements/base.txt` with every
hash checked, then the wheel with `--no-deps`: what the core set lacks, the wheel's CLI lacks too. Commands
run through `WheelVenv.run` with a bare environment (no PYTHONPATH, a fresh HOME) from a folder outside this
checkout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# Not the product: what a copy of the checkout leaves out before it builds (the rest, junk included, stays,
# so the wheel's exclusions are tested on a tree that has __pycache__ folders and caches): VCS data and
# virtual environments anywhere, earlier build outputs, tool caches and run state at the top.
_NOWHERE = shutil.ignore_patterns(".git", ".venv", "node_modules", "*.egg-info")
_TOP = {"build", "dist", "out", ".lab", ".whl", ".pulumi-state", ".mypy_cache", ".ruff_cache", ".pytest_cache",
        ".hypothesis"}


def _not_copied(folder: str, names: list[str]) -> set[str]:
    top = _TOP.intersection(names) if Path(folder) == REPO else set()
    return set(_NOWHERE(folder, names)) | top


@dataclass(frozen=True)
class WheelVenv:
    """A clean virtual environment with only the locked core set and the built wheel."""

    wheel: Path
    root: Path  # the venv
    home: Path

    @property
    def python(self) -> Path:
        return self.root / "bin" / "python"

    @property
    def aifactory(self) -> Path:
        return self.root / "bin" / "aifactory"

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        base = {"PATH": f"{self.root / 'bin'}{os.pathsep}/usr/bin{os.pathsep}/bin", "HOME": str(self.home),
                "LANG": "C.UTF-8", "COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb"}
        return {**base, **(extra or {})}

    def run(self, *args: str, cwd: Path, extra_env: Mapping[str, str] | None = None,
            timeout: float = 180) -> subprocess.CompletedProcess[str]:
        """`aifactory ARGS` of the installed wheel, run in `cwd` (outside this checkout)."""
        assert not _inside_this_checkout(cwd), f"{cwd} is inside {REPO}"
        return subprocess.run([str(self.aifactory), *args], cwd=cwd, env=self.env(extra_env), capture_output=True,
                              text=True, timeout=timeout, check=False)

    def python_run(self, code: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        assert not _inside_this_checkout(cwd), f"{cwd} is inside {REPO}"
        return subprocess.run([str(self.python), "-c", code], cwd=cwd, env=self.env(), capture_output=True,
                              text=True, timeout=timeout, check=False)


def _inside_this_checkout(folder: Path) -> bool:
    return folder.resolve().is_relative_to(REPO)


def _run(args: list[str], cwd: Path, timeout: float) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    assert done.returncode == 0, f"{' '.join(args)}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"


def copy_checkout(target: Path) -> Path:
    """This checkout's working tree (links kept as links), without its VCS data and virtual environments."""
    shutil.copytree(REPO, target, symlinks=True, ignore=_not_copied)
    return target


def plant_junk(tree: Path) -> None:
    """What a working tree collects beside the product files (bytecode, molecule and pytest caches, a venv): the
    wheel must leave it out."""
    for junk in ("modules/mlops/platform/__pycache__/component.cpython-311.pyc", "roles/base/molecule/default/"
                 ".cache/state.yml", "stacks/.venv/bin/python", "blueprints/.pytest_cache/v/cache", "stacks/x.pyc"):
        (tree / junk).parent.mkdir(parents=True, exist_ok=True)
        (tree / junk).write_text("junk\n")


def build(source: Path, out: Path, *kinds: str) -> list[Path]:
    """`python -m build KINDS --no-isolation` of `source` into `out`; the files it made."""
    _run([sys.executable, "-m", "build", *kinds, "--no-isolation", "--outdir", str(out), str(source)], source, 600)
    return sorted(out.iterdir())


@pytest.fixture(scope="session")
def wheel_venv(tmp_path_factory: pytest.TempPathFactory) -> WheelVenv:
    work = tmp_path_factory.mktemp("wheel")
    source = copy_checkout(work / "src")
    plant_junk(source)
    (wheel,) = build(source, work / "dist", "--wheel")
    venv = work / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], work, 300)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    _run([*pip, "--require-hashes", "-r", str(REPO / "requirements" / "base.txt")], work, 900)
    _run([*pip, "--no-deps", str(wheel)], work, 300)
    shutil.rmtree(source)  # nothing of the checkout is left to fall back on
    home = work / "home"
    home.mkdir()
    return WheelVenv(wheel, venv, home)
