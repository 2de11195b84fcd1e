"""The lab's Python environment: MLflow for the tracking server, torch (CPU) and PyYAML for the burn-in
suite. Built once into the cache and bind-mounted read-only into every lab host (Debian 12 there and here,
so the same Python 3.11 runs it); the source tree is put on its path for `python -m aifactory.burnin`."""

from __future__ import annotations

import hashlib
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


def ensure_venv(log: Path) -> Path:
    """Create the venv unless the cache has it (a marker file is written last, so a half-built one is
    rebuilt)."""
    venv = venv_dir()
    marker = venv / ".complete"
    if marker.exists():
        return venv
    with log.open("ab") as fh:
        for cmd in (
            ["/usr/bin/python3", "-m", "venv", "--clear", str(venv)],
            [str(venv / "bin/pip"), "install", "--quiet", "--require-hashes", "-r", str(LOCK)],
        ):
            done = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, check=False, timeout=1800)
            if done.returncode != 0:
                raise RuntimeError(f"building the lab venv failed at {cmd[0]}; see {log}")
    site = next((venv / "lib").glob("python3*/site-packages"))
    (site / "aifactory-lab-src.pth").write_text(SRC_MOUNT + "\n")
    marker.write_text("ok\n")
    return venv
