"""The munge key from Ansible Vault: the inventory names the vault variable, the role's task file reads it from
an ansible-vault encrypted vars file (real ansible-vault and ansible-playbook, on localhost, into a temporary
folder), and the key never shows in Ansible's output."""

from __future__ import annotations

import grp
import os
import pwd
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from aifactory.blueprint import load_blueprint
from aifactory.design import plan
from aifactory.render.group_vars import render_blueprint_inventory

ROOT = Path(__file__).resolve().parents[2]
VAULT_TASKS = ROOT / "roles" / "munge" / "tasks" / "vault_key.yml"
BIN = Path(sys.executable).parent


def _env(tmp: Path) -> dict[str, str]:
    return {
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(tmp),
        "ANSIBLE_HOME": str(tmp / ".ansible"),
        "ANSIBLE_LOCAL_TEMP": str(tmp / ".ansible-tmp"),
        "ANSIBLE_NOCOLOR": "True",
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
        "ANSIBLE_DEPRECATION_WARNINGS": "False",
    }


def _vault(tmp: Path, content: str) -> tuple[Path, Path]:
    password = tmp / "vault-pass"
    password.write_text(secrets.token_hex(16) + "\n")
    password.chmod(0o600)
    vault = tmp / "vault.yml"
    vault.write_text(content)
    subprocess.run([str(BIN / "ansible-vault"), "encrypt", "--vault-password-file", str(password), str(vault)],
                   check=True, capture_output=True, env=_env(tmp), timeout=120)
    assert vault.read_text().startswith("$ANSIBLE_VAULT;")
    return vault, password


def _play(tmp: Path, vault: Path, variable: str) -> Path:
    user, group = pwd.getpwuid(os.getuid()).pw_name, grp.getgrgid(os.getgid()).gr_name
    play = [{
        "hosts": "localhost",
        "connection": "local",
        "gather_facts": False,
        "vars_files": [str(vault)],
        "vars": {"munge_key_secret": variable, "munge_key_path": str(tmp / "out" / "munge.key"),
                 "munge_key_owner": user, "munge_key_group": group},
        "tasks": [{"ansible.builtin.import_tasks": str(VAULT_TASKS)}],
        # The role's handler restarts munged; here it leaves a mark that the key change notified it.
        "handlers": [{"name": "Munge | Restart munged",
                      "ansible.builtin.copy": {"content": "restarted\n", "dest": str(tmp / "out" / "restarted")}}],
    }]
    path = tmp / "play.yml"
    path.write_text(yaml.safe_dump(play, sort_keys=False))
    (tmp / "out").mkdir()
    return path


def _playbook(tmp: Path, play: Path, password: Path | None) -> subprocess.CompletedProcess[str]:
    cmd = [str(BIN / "ansible-playbook"), "-v", "--diff", "-i", "localhost,", str(play)]
    if password is not None:
        cmd += ["--vault-password-file", str(password)]
    return subprocess.run(cmd, capture_output=True, text=True, env=_env(tmp), timeout=300, cwd=tmp)


def test_the_key_comes_from_the_vault_and_never_shows(tmp_path: Path) -> None:
    key = secrets.token_urlsafe(48)
    vault, password = _vault(tmp_path, yaml.safe_dump({"factory_munge_key": key}))
    play = _play(tmp_path, vault, "factory_munge_key")
    run = _playbook(tmp_path, play, password)
    assert 0 == run.returncode, run.stdout + run.stderr
    written = tmp_path / "out" / "munge.key"
    assert key == written.read_text()
    assert 0o400 == written.stat().st_mode & 0o777
    assert (tmp_path / "out" / "restarted").is_file()  # the change notified the restart
    assert key not in run.stdout + run.stderr
    # Again: nothing changes, nothing restarts.
    (tmp_path / "out" / "restarted").unlink()
    again = _playbook(tmp_path, play, password)
    assert 0 == again.returncode and "changed=0" in again.stdout, again.stdout
    assert not (tmp_path / "out" / "restarted").exists()


def test_without_the_vault_password_nothing_is_written(tmp_path: Path) -> None:
    vault, _ = _vault(tmp_path, yaml.safe_dump({"factory_munge_key": secrets.token_urlsafe(48)}))
    run = _playbook(tmp_path, _play(tmp_path, vault, "factory_munge_key"), None)
    assert 0 != run.returncode
    assert "vault" in (run.stdout + run.stderr).lower()
    assert not (tmp_path / "out" / "munge.key").exists()


@pytest.mark.parametrize("content", [{"other_variable": "x" * 40}, {"factory_munge_key": "too-short"}])
def test_a_missing_or_short_key_fails_naming_the_variable(tmp_path: Path, content: dict[str, str]) -> None:
    vault, password = _vault(tmp_path, yaml.safe_dump(content))
    run = _playbook(tmp_path, _play(tmp_path, vault, "factory_munge_key"), password)
    assert 0 != run.returncode
    assert "Ansible Vault variable factory_munge_key" in run.stdout, run.stdout
    assert "too-short" not in run.stdout + run.stderr
    assert not (tmp_path / "out" / "munge.key").exists()


def test_the_inventory_names_the_variable_never_a_value(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".git").mkdir()
    monkeypatch.chdir(tmp_path)
    (tmp_path / "site.yaml").write_text("extends: lab\nname: site\nmlops:\n  orchestrator:\n    slurm:\n"
                                        "      munge_key: {secret: factory_munge_key}\n")
    bp = load_blueprint(tmp_path / "site.yaml").model
    files = render_blueprint_inventory(bp, plan(bp).hosts)
    group_vars = {name: yaml.safe_load(text) for name, text in files.items() if name.startswith("group_vars/")}
    assert any(v.get("munge_key_secret") == "factory_munge_key" for v in group_vars.values()), sorted(files)
    default = render_blueprint_inventory(load_blueprint("lab").model, plan(load_blueprint("lab").model).hosts)
    assert "munge_key_secret" not in "".join(default.values())
