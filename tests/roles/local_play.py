"""Run a one-host play against this machine with connection local (no SSH, no containers): the role tests
that let Ansible itself evaluate a task file or a role's conditions."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from aifactory.deploy.ansible import ansible_env


def run_local_play(tmp_path: Path, play: list[dict[str, Any]]) -> subprocess.CompletedProcess[str]:
    """`play` targets the host `node01` (127.0.0.1); runs ansible-playbook from this venv in `tmp_path`."""
    (tmp_path / "play.yml").write_text(yaml.safe_dump(play))
    (tmp_path / "hosts.yml").write_text("all:\n  hosts:\n    node01: {ansible_host: 127.0.0.1}\n")
    return subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "hosts.yml", "play.yml"],
        cwd=tmp_path, capture_output=True, text=True, env=ansible_env(), timeout=120, check=False,
    )  # fmt: skip
