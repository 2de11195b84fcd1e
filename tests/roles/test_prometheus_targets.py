"""The prometheus role's default scrape targets: node exporters on every host, DCGM exporters on GPU hosts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from aifactory.deploy.ansible import ansible_env

REPO_ROOT = Path(__file__).resolve().parents[2]

INVENTORY = """\
all:
  hosts:
    gpu01: {ansible_host: 10.0.0.2, aifactory_gpus: 8}
    cpu01: {ansible_host: 10.0.0.3, aifactory_gpus: 0}
    mon01: {ansible_host: 10.0.0.4}
"""
PLAYBOOK = """\
- name: Print the defaults
  hosts: mon01
  gather_facts: false
  connection: local
  vars_files: [{defaults}]
  tasks:
    - name: Targets as JSON
      ansible.builtin.debug:
        msg: "{{{{ {{'node': prometheus_node_targets, 'dcgm': prometheus_dcgm_targets}} | to_json }}}}"
"""


def test_default_targets(tmp_path: Path) -> None:
    (tmp_path / "hosts.yml").write_text(INVENTORY)
    (tmp_path / "play.yml").write_text(PLAYBOOK.format(defaults=REPO_ROOT / "roles/prometheus/defaults/main.yml"))
    env = {**ansible_env(), "ANSIBLE_STDOUT_CALLBACK": "json"}
    done = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "hosts.yml", "play.yml"],
        cwd=tmp_path, capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert 0 == done.returncode, done.stdout + done.stderr
    msg = json.loads(done.stdout)["plays"][0]["tasks"][0]["hosts"]["mon01"]["msg"]
    result = json.loads(msg) if isinstance(msg, str) else msg
    # Node exporters in host-name order (cpu01, gpu01, mon01); DCGM only where the inventory gives GPUs.
    assert {"node": ["10.0.0.3:9100", "10.0.0.2:9100", "10.0.0.4:9100"], "dcgm": ["10.0.0.2:9400"]} == result
