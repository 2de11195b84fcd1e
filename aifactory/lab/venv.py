"""The lab's Python environment: MLflow for the tracking server, torch (CPU) and PyYAML for the burn-in
suite. Built once into the cache and bind-mounted read-only into every lab host (Debian 12 there and here,
so the same Python 3.11 runs it); the source tree is put on its path for `python -m aifactory.burnin`."""

from __future__ import annotations

import hashlib
import re
import subprocess
from pathlib import Path

from aifactory import resources
from aifactory.lab.hosts import SRC_MOUNT
from aifactory.lab.paths import cache_dir

MLFLOW_VERSION = "3.17.2"
# The locked set (scripts/lock from requirements/lab.in, which pins MLflow and torch exactly), installed
# with every hash checked. It ships in the package (in a checkout: requirements/lab.txt).
LOCK = resources.lab_lock()


def venv_dir() -> Path:
    key = hashlib.sha256(LOCK.read_bytes()).hexdigest()[:12]
    return cache_dir() / f"venv-{key}"


def _pip_only(path: Path) -> Path:
    """The lock's `pip==` entry with its hashes, alone in a requirements file."""
    entry = re.search(r"(?m)^pip==\S+(?: \\\n\s+--hash=\S+)+", LOCK.read_text(encoding="utf-8"))
    if entry is None:
        raise RuntimeError(f"{LOCK} pins no pip (requirements/lab.in names it)")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(entry.group(0) + "\n", encoding="utf-8")
    return path


def ensure_venv(log: Path) -> Path:
    """Create the venv unless the cache has it (a marker file is written last, so a half-built one is
    rebuilt)."""
    venv = venv_dir()
    marker = venv / ".complete"
    if marker.exists():
        return venv
    pip_lock = venv.parent / f"{venv.name}.pip.txt"
    with log.open("ab") as fh:
        for cmd in (
            ["/usr/bin/python3", "-m", "venv", "--clear", str(venv)],
            # The lock's own pip first (Debian 12's venv pip refuses a pinned extra in hash mode), then the rest.
            [str(venv / "bin/pip"), "install", "--quiet", "--require-hashes", "-r", str(_pip_only(pip_lock))],
            [str(venv / "bin/pip"), "install", "--quiet", "--require-hashes", "-r", str(LOCK)],
        ):
            done = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, check=False, timeout=1800)
            if done.returncode != 0:
                raise RuntimeError(f"building the lab venv failed at {cmd[0]}; see {log}")
    site = next((venv / "lib").glob("python3*/site-packages"))
    (site / "aifactory-lab-src.pth").write_text(SRC_MOUNT + "\n")
    marker.write_text("ok\n")
    return venv
