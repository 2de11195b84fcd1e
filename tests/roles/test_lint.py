"""The site playbook parses, and every role is clean under ansible-lint's production profile."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from aifactory.deploy.ansible import ansible_env

REPO_ROOT = Path(__file__).resolve().parents[2]

BIN = Path(sys.executable).parent


def test_site_playbook_syntax(tmp_path: Path) -> None:
    inventory = tmp_path / "hosts.yml"
    inventory.write_text("all:\n  hosts:\n    h1: {}\n")
    done = subprocess.run(
        [str(BIN / "ansible-playbook"), "--syntax-check", "-i", str(inventory), str(REPO_ROOT / "playbooks")
         + "/site.yml"],
        capture_output=True, text=True, env=ansible_env(), timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def test_ansible_lint_production_profile() -> None:
    done = subprocess.run(
        [str(BIN / "ansible-lint"), "--profile", "production", "--offline", "roles", "playbooks"],
        capture_output=True, text=True, cwd=REPO_ROOT, env=ansible_env(), timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, (done.stdout + done.stderr)[-6000:]
