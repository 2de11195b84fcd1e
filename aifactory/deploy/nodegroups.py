"""The Pulumi dynamic provider that converges one node group: the site playbook, limited to the group,
over the whole inventory the group carries.

It runs Ansible exactly as `aifactory deploy` does (`run_playbook`: the same environment, ansible.cfg,
roles and collection), and fails the resource when the run fails or selects none of the group's hosts.
`diff` reports a change only when the group's hash, limit or playbook differs, so `pulumi up` re-runs
Ansible on exactly the groups whose inputs changed. Deleting the resource leaves the nodes as they are:
Ansible configures hosts, it does not decommission them.

The class lives in this installed package, not under `modules/`: Pulumi stores the provider in the state
with dill, which pickles a class by reference to its module, and the provider host that loads it back need
not have the repository's `modules` folder on its path. The instance holds nothing; every input (the
playbook's path inside the collection, inventory text) comes with the resource's properties.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from pulumi.dynamic import CreateResult, DiffResult, ResourceProvider, UpdateResult

WATCHED = ("hash", "limit", "playbook")


class ConvergeError(Exception):
    """The group's Ansible run failed, or matched none of its hosts."""


def converge(props: dict[str, Any]) -> dict[str, Any]:
    """Write the group's inventory, run the playbook limited to the group; returns the recorded outputs."""
    from aifactory.deploy.ansible import run_playbook
    from aifactory.io import atomic_write_tree

    group, hosts = str(props["group"]), sorted(str(h) for h in props["hosts"])
    if not hosts:
        raise ConvergeError(f"group {group}: no hosts to converge (limit {props['limit']!r})")
    playbook = playbook_path(str(props["playbook"]))
    if playbook is None:
        raise ConvergeError(f"group {group}: playbook {props['playbook']} is not a file of the collection")
    files = {str(k): str(v) for k, v in props["inventory"].items()}
    unsafe = [name for name in files if Path(name).is_absolute() or ".." in Path(name).parts]
    if unsafe or "hosts.yml" not in files:
        raise ConvergeError(f"group {group}: inventory needs hosts.yml and relative file names, not {unsafe}")
    with tempfile.TemporaryDirectory(prefix="aifactory-nodegroup-") as tmp:
        inventory = Path(tmp) / "inventory"
        atomic_write_tree(inventory, files)
        result = run_playbook(inventory, playbook=playbook, limit=str(props["limit"]))
    if not result.succeeded:
        failed = "; ".join(f"{t['host']}: {t['task']}: {t['msg']}" for t in result.failed_tasks[:10])
        raise ConvergeError(f"group {group}: ansible-playbook failed ({result.status}, rc {result.rc}) {failed}")
    missing = [h for h in hosts if h not in result.hosts]
    if missing:
        raise ConvergeError(
            f"group {group}: the run did not reach {', '.join(missing)} (limit {props['limit']!r} matched "
            f"{', '.join(sorted(result.hosts)) or 'no host'})"
        )
    return {**props, "converged": True, "rc": result.rc, "changed": result.changed}


def playbook_path(name: str) -> Path | None:
    """The playbook a group's `playbook` input names: a path relative to the collection the package ships
    (what the program writes), resolved where the provider runs; an absolute path (state written by earlier
    versions) as it is. None where that is no file or the relative path leaves the collection."""
    from aifactory import resources

    path = Path(name)
    if not path.is_absolute():
        if ".." in path.parts:
            return None
        path = resources.collection_dir() / path
    return path if path.is_file() else None


class AnsibleGroupProvider(ResourceProvider):
    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(id_=f"nodegroup-{props['group']}", outs=converge(props))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = [key for key in WATCHED if olds.get(key) != news.get(key)]
        return DiffResult(changes=bool(changed), replaces=[], stables=["group"], delete_before_replace=False)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(outs=converge(news))
