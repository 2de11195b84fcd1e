"""The prometheus role's configuration loads the rule files of its rules folder: the role's own template, rendered
by Ansible with the serving alerts `aifactory render --workloads` writes for the lab in that folder, passes
`promtool check config`, which checks each rule file the configuration names."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from aifactory.blueprint import load_blueprint
from aifactory.deploy.ansible import ansible_env
from aifactory.render.workloads import render_workloads

REPO_ROOT = Path(__file__).resolve().parents[2]
PROMTOOL = shutil.which("promtool")
pytestmark = pytest.mark.skipif(PROMTOOL is None, reason="promtool is not installed (scripts/debian-packages.txt)")

PLAYBOOK = """\
- name: Render the configuration
  hosts: localhost
  gather_facts: false
  connection: local
  vars_files: [{defaults}]
  tasks:
    - name: Template
      ansible.builtin.template:
        src: {template}
        dest: {dest}
        mode: "0644"
"""


def _config(tmp_path: Path, rules: str) -> subprocess.CompletedProcess[str]:
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "aifactory-serving-rules.yml").write_text(rules)
    role = REPO_ROOT / "roles" / "prometheus"
    (tmp_path / "play.yml").write_text(PLAYBOOK.format(defaults=role / "defaults/main.yml",
        template=role / "templates/prometheus.yml.j2", dest=tmp_path / "prometheus.yml"))  # fmt: skip
    # Extra vars outrank the defaults file: this host's folders, and targets without an inventory.
    extra = {"prometheus_rules_dir": str(folder), "prometheus_file_sd_dir": str(tmp_path / "file_sd"),
             "prometheus_node_targets": ["127.0.0.1:9100"], "prometheus_dcgm_targets": []}  # fmt: skip
    (tmp_path / "extra.json").write_text(json.dumps(extra))
    done = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-e", "@extra.json", "play.yml"],
        cwd=tmp_path, capture_output=True, text=True, env=ansible_env(), timeout=120, check=False,
    )  # fmt: skip
    assert 0 == done.returncode, done.stdout + done.stderr
    return subprocess.run([str(PROMTOOL), "check", "config", str(tmp_path / "prometheus.yml")],
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip


def test_the_configuration_loads_the_rendered_serving_rules(tmp_path: Path) -> None:
    files, _ = render_workloads(load_blueprint("lab"), "t")
    done = _config(tmp_path, files["slurm/prometheus/aifactory-serving-rules.yml"])
    assert 0 == done.returncode, done.stdout + done.stderr
    assert "aifactory-serving-rules.yml" in done.stdout + done.stderr and "2 rules found" in done.stdout


def test_a_broken_rule_file_in_the_folder_fails_the_check(tmp_path: Path) -> None:
    broken = "groups:\n- name: x\n  rules:\n  - alert: Broken\n    expr: rate(x[5m]\n"
    done = _config(tmp_path, broken)
    assert 0 != done.returncode
    assert "aifactory-serving-rules.yml" in done.stdout + done.stderr
