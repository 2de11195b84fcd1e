"""slurm_common's shape check (tasks/shape.yml) on this host, run by Ansible with the local connection: the node
line's Sockets/CoresPerSocket/ThreadsPerCore/RealMemory against the real `slurmd -C` here. A shape equal to this
host's passes, a wrong core count or a RealMemory above the host's fails the play, a node without shape skips."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.roles.local_play import run_local_play

REPO_ROOT = Path(__file__).resolve().parents[2]
SHAPE_TASKS = REPO_ROOT / "roles/slurm_common/tasks/shape.yml"
pytestmark = pytest.mark.skipif(shutil.which("slurmd") is None, reason="slurmd (Debian slurmd) not installed")


def _host_shape() -> dict[str, int]:
    out = subprocess.run(["slurmd", "-C"], capture_output=True, text=True, timeout=30, check=True).stdout
    seen = dict(re.findall(r"(\w+)=(\S+)", out.splitlines()[0]))
    return {"sockets": int(seen["Boards"]) * int(seen["SocketsPerBoard"]),
            "cores_per_socket": int(seen["CoresPerSocket"]), "threads_per_core": int(seen["ThreadsPerCore"]),
            "memory_mb": int(seen["RealMemory"])}  # fmt: skip


def _play(tmp_path: Path, node: dict[str, object]) -> subprocess.CompletedProcess[str]:
    play = [{
        "name": "Shape check", "hosts": "node01", "gather_facts": False, "connection": "local",
        "vars": {"slurm_common_nodes": [{"name": "node01", **node}]},
        "tasks": [{"name": "Check", "ansible.builtin.include_tasks": str(SHAPE_TASKS)}],
    }]  # fmt: skip
    return run_local_play(tmp_path, play)


def test_this_hosts_own_shape_passes(tmp_path: Path) -> None:
    shape = _host_shape()
    done = _play(tmp_path, {**shape, "memory_mb": shape["memory_mb"] - 1024})
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("wrong", [{"cores_per_socket": 999}, {"threads_per_core": 3}, {"memory_mb": 10**9}])
def test_a_mismatch_fails_the_play(tmp_path: Path, wrong: dict[str, int]) -> None:
    done = _play(tmp_path, {**_host_shape(), **wrong})
    assert done.returncode != 0
    assert "but slurmd -C on node01 reports" in done.stdout


def test_a_node_without_shape_is_skipped(tmp_path: Path) -> None:
    done = _play(tmp_path, {"cpus": 0, "memory_mb": 0})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "skipping" in done.stdout
