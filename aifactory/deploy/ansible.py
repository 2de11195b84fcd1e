"""Run the site playbook through ansible-runner, with progress and per-host results.

The roles and the site playbook are the collection aifactory.factory that ships in the package
(`aifactory.resources`: in a checkout, its top-level roles/ and playbooks/); ansible-runner is imported only when a run
starts. Limits accept host names, `rack:NAME` and `su:N`, translated to the inventory's groups.
"""

from __future__ import annotations

import os
import shlex
import stat
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aifactory import resources
from aifactory.errors import Location, UserError
from aifactory.render.inventory import group_name

ROLES_DIR = resources.roles_dir()
ANSIBLE_CFG = resources.ansible_cfg()  # roles_path and the aifactory.factory collection path
COLLECTIONS_PATH = resources.collections_path()  # holds ansible_collections/aifactory/factory
SITE_PLAYBOOK = resources.site_playbook()
STAT_KEYS = ("ok", "changed", "failures", "dark", "skipped")


@dataclass
class HostResult:
    """What the play did on one host."""

    ok: int = 0
    changed: int = 0
    failures: int = 0
    unreachable: int = 0
    skipped: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(vars(self))


@dataclass
class RunResult:
    """The outcome of one playbook run."""

    status: str
    rc: int
    hosts: dict[str, HostResult] = field(default_factory=dict)
    failed_tasks: list[dict[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def changed(self) -> int:
        return sum(h.changed for h in self.hosts.values())

    @property
    def succeeded(self) -> bool:
        return self.rc == 0 and not any(h.failures or h.unreachable for h in self.hosts.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "changed": self.changed,
            "failed_tasks": self.failed_tasks,
            "hosts": {name: r.as_dict() for name, r in sorted(self.hosts.items())},
            "rc": self.rc,
            "seconds": round(self.seconds, 1),
            "status": self.status,
            "succeeded": self.succeeded,
        }


def translate_limit(items: Sequence[str]) -> str:
    """`--limit` values to an Ansible pattern: `rack:R1` -> group rack_r1, `su:2` -> su_2, names as given."""
    parts = []
    for item in items:
        kind, sep, value = item.partition(":")
        if sep and kind == "rack":
            parts.append(f"rack_{group_name(value)}")
        elif sep and kind == "su":
            parts.append(f"su_{int(value)}")
        else:
            parts.append(item)
    return ",".join(parts)


def ansible_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment for ansible-playbook: the package's ansible.cfg and the aifactory.factory collection the
    site playbook names its roles by (from the installed package) whatever the working directory, no host-key prompts,
    pipelined SSH with shared connections, and this interpreter's bin directory first so the matching
    ansible runs."""
    env = {
        "ANSIBLE_CONFIG": str(ANSIBLE_CFG),
        "ANSIBLE_ROLES_PATH": str(ROLES_DIR),
        "ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS_PATH),
        "ANSIBLE_HOST_KEY_CHECKING": "False",
        "ANSIBLE_PIPELINING": "True",
        "ANSIBLE_SSH_ARGS": "-o ControlMaster=auto -o ControlPersist=900s -o UserKnownHostsFile=/dev/null",
        "ANSIBLE_FORKS": "10",
        "ANSIBLE_PYTHON_INTERPRETER": "/usr/bin/python3",
        "ANSIBLE_NOCOLOR": "True",
        # Gather facts once per host per run, not once per play.
        "ANSIBLE_GATHERING": "smart",
        "ANSIBLE_CACHE_PLUGIN": "ansible.builtin.jsonfile",
        "ANSIBLE_CACHE_PLUGIN_CONNECTION": str(Path(tempfile.gettempdir()) / "aifactory-facts"),
        "ANSIBLE_CACHE_PLUGIN_TIMEOUT": "600",
        "ANSIBLE_DEPRECATION_WARNINGS": "False",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    env.update(extra or {})
    return env


def check_vault_password_file(path: Path) -> Path:
    """The Ansible Vault password file, absolute; exit 2 where it is missing, not a regular file, or readable or
    writable by others (a vault whose password anyone on the machine can read protects nothing)."""
    where = Location(str(path))
    try:
        info = path.stat()
    except OSError as exc:
        raise UserError.at(where, f"vault password file cannot be read ({exc.strerror})",
                           "pass the file holding the Ansible Vault password") from exc
    if not stat.S_ISREG(info.st_mode):
        raise UserError.at(where, "vault password file is not a regular file",
                           "pass the file holding the Ansible Vault password")
    if info.st_mode & (stat.S_IROTH | stat.S_IWOTH):
        raise UserError.at(where, f"vault password file is readable or writable by others (mode "
                           f"{stat.S_IMODE(info.st_mode):04o})", f"chmod 600 {shlex.quote(str(path))}")
    return path.resolve()


def runner_cmdline(check: bool, vault_password_file: Path | None) -> str | None:
    """Extra ansible-playbook arguments, as ansible-runner's `cmdline` string (split with shell rules)."""
    args = ["--check", "--diff"] if check else []
    if vault_password_file is not None:
        args += ["--vault-password-file", str(vault_password_file)]
    return " ".join(shlex.quote(a) for a in args) or None


def converge_digest(inventory: Path, playbook: Path, extravars: Mapping[str, Any]) -> str:
    """What a converge's outcome depends on: the roles, the playbooks, the inventory files and the extra
    variables. The site playbook skips hosts whose last successful converge had the same digest and whose
    daemons all run, which makes a run that would change nothing cheap."""
    import hashlib
    import json

    digest = hashlib.sha256()
    # Paths count relative to the folder they were found in: the same inventory written to another
    # folder (the Pulumi node groups write theirs to a temporary one) gives the same digest.
    files = [(inventory.name, inventory)] if inventory.is_file() else _files_under(inventory)
    for root in (ROLES_DIR, playbook.parent):
        files += _files_under(root)
    for name, path in files:
        digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    digest.update(json.dumps(dict(extravars), sort_keys=True, default=str).encode())
    return digest.hexdigest()


def _files_under(root: Path) -> list[tuple[str, Path]]:
    return sorted((p.relative_to(root).as_posix(), p) for p in root.rglob("*") if p.is_file())


def _record_event(event: Mapping[str, Any], result: RunResult) -> None:
    if event.get("event") not in ("runner_on_failed", "runner_on_unreachable"):
        return
    data = event.get("event_data", {})
    if data.get("ignore_errors"):
        return
    res = data.get("res", {})
    result.failed_tasks.append(
        {
            "host": str(data.get("host", "")),
            "task": str(data.get("task", "")),
            "msg": str(res.get("msg", ""))[:2000],
        }
    )


def run_playbook(
    inventory: Path,
    *,
    playbook: Path = SITE_PLAYBOOK,
    extravars: Mapping[str, Any] | None = None,
    limit: str = "",
    check: bool = False,
    env: Mapping[str, str] | None = None,
    on_task: Callable[[str, str], None] | None = None,
    artifact_dir: Path | None = None,
    full: bool = False,
    vault_password_file: Path | None = None,
) -> RunResult:
    """Run `playbook` against `inventory`; `on_task(host, task)` is called as each task finishes on a host.
    `full` converges every host even where nothing changed since its last converge. `vault_password_file`
    (checked with `check_vault_password_file`) decrypts the operator's Ansible Vault vars."""
    import time

    import ansible_runner

    result = RunResult(status="unknown", rc=-1)

    def handler(event: dict[str, Any]) -> bool:
        _record_event(event, result)
        if on_task and event.get("event") in ("runner_on_ok", "runner_on_failed", "runner_on_skipped"):
            data = event.get("event_data", {})
            on_task(str(data.get("host", "")), str(data.get("task", "")))
        return True

    started = time.monotonic()
    if artifact_dir is not None:
        artifact_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="aifactory-runner-") as tmp:
        runner = ansible_runner.run(
            private_data_dir=str(artifact_dir or tmp),
            playbook=str(playbook),
            inventory=str(inventory),
            extravars={
                **dict(extravars or {}),
                "aifactory_converge_digest": converge_digest(inventory, playbook, extravars or {}),
                "aifactory_full_converge": full or check,
            },
            envvars=ansible_env(env),
            limit=limit or None,
            cmdline=runner_cmdline(check, vault_password_file),
            quiet=True,
            event_handler=handler,
        )
        stats = runner.stats or {}
    result.seconds = time.monotonic() - started
    result.status, result.rc = str(runner.status), int(runner.rc)
    _fill_hosts(result, stats)
    return result


def _fill_hosts(result: RunResult, stats: Mapping[str, Mapping[str, int]]) -> None:
    names = {name for key in STAT_KEYS for name in stats.get(key, {})}
    for name in names:
        result.hosts[name] = HostResult(
            ok=stats.get("ok", {}).get(name, 0),
            changed=stats.get("changed", {}).get(name, 0),
            failures=stats.get("failures", {}).get(name, 0),
            unreachable=stats.get("dark", {}).get(name, 0),
            skipped=stats.get("skipped", {}).get(name, 0),
        )
