"""A Pulumi dynamic provider that converges one node group with Ansible (through ansible-runner).

The resource's inputs are the group's inventory, variables, playbook and their hash. `diff` reports a change
only when the hash (or the playbook) differs, so `pulumi up` re-runs Ansible on exactly the groups whose
inventory or variables changed. Deleting the resource leaves the nodes as they are: Ansible configures hosts,
it does not decommission them. The create/diff/update logic is plain Python and is tested directly.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from pulumi.dynamic import CreateResult, DiffResult, ResourceProvider, UpdateResult

WATCHED = ("hash", "playbook")


class ConvergeError(Exception):
    """ansible-runner finished with a failure."""


def converge(props: dict[str, Any]) -> dict[str, Any]:
    """Run the playbook against the group; returns the outputs recorded in the state."""
    hosts = props["inventory"]["all"]["children"][props["group"]]["hosts"]
    if not hosts:
        return {**props, "converged": False, "rc": 0}
    import ansible_runner

    playbook = Path(props["playbook"])
    if not playbook.is_file():
        raise ConvergeError(f"playbook {playbook} does not exist")
    with tempfile.TemporaryDirectory(prefix="aifactory-converge-") as tmp:
        result = ansible_runner.run(
            private_data_dir=tmp,
            playbook=str(playbook.resolve()),
            inventory=props["inventory"],
            extravars=props["variables"],
            limit=props["group"],
            quiet=True,
            envvars={"PATH": _path_with_ansible()},
        )
        if result.rc != 0:
            tail = "".join(result.stdout.readlines()[-20:]) if result.stdout else ""
            raise ConvergeError(
                f"group {props['group']}: ansible-playbook failed ({result.status}, rc {result.rc})\n{tail}"
            )
    return {**props, "converged": True, "rc": 0}


def _path_with_ansible() -> str:
    """PATH with this Python's bin folder first, so its ansible-playbook runs (a virtualenv need not be on
    PATH)."""
    return os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])


class AnsibleGroupProvider(ResourceProvider):  # type: ignore[misc]  # pulumi ships no type stubs
    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(id_=f"nodegroup-{props['group']}", outs=converge(props))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = [key for key in WATCHED if olds.get(key) != news.get(key)]
        return DiffResult(changes=bool(changed), replaces=[], stables=["group"], delete_before_replace=False)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(outs=converge(news))
