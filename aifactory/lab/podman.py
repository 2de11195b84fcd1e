"""The podman calls the lab makes, with a containers.conf of its own.

This machine needs runc (crun fails here), cgroupfs (no systemd on the host), file-based events and default
ulimits no higher than the host's hard limits; the lab passes its own containers.conf rather than changing
the machine's.
"""

from __future__ import annotations

import os
import resource
import subprocess
from pathlib import Path

from aifactory.lab.paths import state_dir


def containers_conf() -> Path:
    """Write (once) and return the lab's containers.conf."""
    path = state_dir() / "containers.conf"
    nofile = min(resource.getrlimit(resource.RLIMIT_NOFILE)[1], 16384)
    nproc_hard = resource.getrlimit(resource.RLIMIT_NPROC)[1]
    nproc = 16384 if nproc_hard == resource.RLIM_INFINITY else min(nproc_hard, 16384)
    text = (
        "[containers]\n"
        f'default_ulimits = ["nofile={nofile}:{nofile}", "nproc={nproc}:{nproc}"]\n'
        "[engine]\n"
        'runtime = "runc"\n'
        'cgroup_manager = "cgroupfs"\n'
        'events_logger = "file"\n'
    )
    if not path.exists() or path.read_text() != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return path


def podman(*args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run podman with the lab's configuration; raise with its error output when `check` and it fails."""
    env = {**os.environ, "CONTAINERS_CONF": str(containers_conf())}
    done = subprocess.run(["podman", *args], env=env, capture_output=True, text=True, check=False, timeout=timeout)
    if check and done.returncode != 0:
        raise RuntimeError(f"podman {' '.join(args[:2])} failed: {done.stderr.strip()[-2000:]}")
    return done


def exec_in(container: str, command: list[str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run a command inside a lab host."""
    return podman("exec", container, *command, check=False, timeout=timeout)
