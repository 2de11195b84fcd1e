"""The locked dependency sets (requirements/*.txt, made by scripts/lock): every pin hashed, every declared
range satisfied, the lab's pins kept, and this environment installed from the lock exactly."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from aifactory.lab.venv import LOCK as LAB_LOCK
from aifactory.lab.venv import MLFLOW_VERSION

ROOT = Path(__file__).resolve().parent.parent
LOCKS = sorted((ROOT / "requirements").glob("*.txt"))
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
_ENTRY = re.compile(
    r"(?m)^(?P<name>[A-Za-z0-9_.-]+)(?:\[[A-Za-z0-9_,.-]+\])?==(?P<version>[^\s\\]+)(?P<rest>(?: \\\n\s+--hash=\S+)*)"
)


def _pins(lock: Path) -> dict[str, tuple[str, str]]:
    return {_norm(m["name"]): (m["version"], m["rest"]) for m in _ENTRY.finditer(lock.read_text(encoding="utf-8"))}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared(extra: str | None) -> list[Requirement]:
    reqs = PROJECT["dependencies"] if extra is None else PROJECT["optional-dependencies"][extra]
    return [Requirement(r) for r in reqs if not r.startswith(PROJECT["name"])]


def test_the_four_locks_exist() -> None:
    assert [p.name for p in LOCKS] == ["base.txt", "burnin.txt", "dev.txt", "lab.txt"]


@pytest.mark.parametrize("lock", LOCKS, ids=lambda p: p.name)
def test_every_pin_is_exact_and_hashed(lock: Path) -> None:
    text = lock.read_text(encoding="utf-8")
    lines = [ln for ln in text.splitlines() if ln and not ln.startswith((" ", "#"))]
    pins = _pins(lock)
    assert len(lines) == len(pins), "every requirement line is `name==version` with hashes"
    assert all("--hash=sha256:" in rest for _, rest in pins.values())
    assert "file://" not in text and "--index-url" not in text, "no machine-local paths or indexes in a lock"


@pytest.mark.parametrize(("lock", "extras"), [
    ("base.txt", [None]),
    ("burnin.txt", [None, "burnin"]),
    ("dev.txt", [None, "deploy", "burnin", "dev"]),
])  # fmt: skip
def test_locked_versions_satisfy_the_declared_ranges(lock: str, extras: list[str | None]) -> None:
    pins = _pins(ROOT / "requirements" / lock)
    for extra in extras:
        for req in _declared(extra):
            assert _norm(req.name) in pins, f"{req.name} ({extra or 'base'}) is missing from {lock}"
            version = pins[_norm(req.name)][0]
            assert req.specifier.contains(version, prereleases=True), f"{req.name}=={version} is outside {req}"


def test_torch_is_the_cpu_build_pinned_in_pyproject() -> None:
    for lock in ("burnin.txt", "dev.txt", "lab.txt"):
        assert _pins(ROOT / "requirements" / lock)["torch"][0].split("+")[0] == "2.13.0"


def test_the_lab_lock_holds_the_mlflow_the_lab_serves() -> None:
    assert LAB_LOCK == ROOT / "requirements" / "lab.txt"
    assert _pins(LAB_LOCK)["mlflow"][0] == MLFLOW_VERSION


def test_this_environment_is_the_locked_set() -> None:
    """scripts/bootstrap installs requirements/dev.txt with --require-hashes; anything else here is drift."""
    if importlib.util.find_spec("piptools") is None:
        pytest.skip("not a bootstrap environment (no dev extra)")
    differs = {
        name: (version, importlib.metadata.version(name))
        for name, (version, _) in _pins(ROOT / "requirements" / "dev.txt").items()
        if importlib.metadata.version(name) != version
    }
    assert differs == {}
