"""`aifactory deploy --vault-password-file`: the file is checked (no file, not a file, readable by others: exit 2)
and handed to ansible-playbook through ansible-runner, which then decrypts the operator's vault vars."""

from __future__ import annotations

import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from aifactory.cli.main import app
from aifactory.deploy.ansible import check_vault_password_file, run_playbook, runner_cmdline
from aifactory.errors import UserError

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def _password(tmp: Path, mode: int = 0o600) -> Path:
    path = tmp / "vault pass"  # a space: the path must survive ansible-runner's command-line splitting
    path.write_text(secrets.token_hex(16) + "\n")
    path.chmod(mode)
    return path


@pytest.mark.parametrize("mode", [0o644, 0o604, 0o602, 0o666])
def test_a_password_file_others_can_read_or_write_is_refused(tmp_path: Path, mode: int) -> None:
    with pytest.raises(UserError) as err:
        check_vault_password_file(_password(tmp_path, mode))
    assert "readable or writable by others" in str(err.value) and "chmod 600" in str(err.value)


def test_a_missing_or_odd_password_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="cannot be read"):
        check_vault_password_file(tmp_path / "absent")
    with pytest.raises(UserError, match="not a regular file"):
        check_vault_password_file(tmp_path)


def test_a_private_password_file_goes_to_ansible_playbook(tmp_path: Path) -> None:
    path = check_vault_password_file(_password(tmp_path, 0o640))
    assert path.is_absolute()
    import shlex

    assert ["--vault-password-file", str(path)] == shlex.split(runner_cmdline(False, path) or "")
    assert ["--check", "--diff", "--vault-password-file", str(path)] == shlex.split(runner_cmdline(True, path) or "")
    assert runner_cmdline(False, None) is None


def test_deploy_refuses_a_world_readable_password_file(tmp_path: Path) -> None:
    inventory = tmp_path / "inventory"
    rendered = runner.invoke(app, ["deploy", str(ROOT / "blueprints" / "lab.yaml"), "--render-inventory",
                                   str(inventory)])
    assert 0 == rendered.exit_code, rendered.output
    password = _password(tmp_path, 0o644)
    result = runner.invoke(app, ["deploy", str(ROOT / "blueprints" / "lab.yaml"), "--inventory", str(inventory),
                                 "--vault-password-file", str(password)])
    assert 2 == result.exit_code, result.output
    assert "readable or writable by others" in result.output
    assert password.read_text().strip() not in result.output


def test_ansible_runner_decrypts_the_vault_with_the_file(tmp_path: Path) -> None:
    value = secrets.token_urlsafe(24)
    password = _password(tmp_path)
    vault = tmp_path / "vault.yml"
    vault.write_text(yaml.safe_dump({"site_credential": value}))
    subprocess.run([str(Path(sys.executable).parent / "ansible-vault"), "encrypt", "--vault-password-file",
                    str(password), str(vault)], check=True, capture_output=True, timeout=120,
                   env={"PATH": str(Path(sys.executable).parent), "HOME": str(tmp_path)})
    out = tmp_path / "written"
    play = tmp_path / "play.yml"
    play.write_text(yaml.safe_dump([{
        "hosts": "all", "gather_facts": False, "vars_files": [str(vault)],
        "tasks": [{"ansible.builtin.copy": {"content": "{{ site_credential }}", "dest": str(out), "mode": "0600"},
                   "no_log": True}],
    }]))
    inventory = tmp_path / "hosts.ini"
    inventory.write_text(f"localhost ansible_connection=local ansible_python_interpreter={sys.executable}\n")
    env = {"ANSIBLE_PYTHON_INTERPRETER": sys.executable, "HOME": str(tmp_path)}
    without = run_playbook(inventory, playbook=play, env=env, artifact_dir=tmp_path / "a")
    assert not without.succeeded and not out.exists()
    result = run_playbook(inventory, playbook=play, env=env, artifact_dir=tmp_path / "b",
                          vault_password_file=check_vault_password_file(password))
    assert result.succeeded, result.as_dict()
    assert value == out.read_text()
