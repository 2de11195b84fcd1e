"""The converge digest (review defect 4): the site playbook skips a host whose last converge had the same digest,
so it must change with anything the outcome depends on, and with nothing else, in particular not with the folder
the inventory was written to (the Pulumi node groups write theirs to a temporary one)."""

from __future__ import annotations

from pathlib import Path

from aifactory.deploy.ansible import SITE_PLAYBOOK, converge_digest

FILES = {"hosts.yml": "all:\n  hosts:\n    gpu001: {}\n", "group_vars/all.yml": "slurm_cluster_name: lab\n"}


def _inventory(root: Path, files: dict[str, str], order: list[str] | None = None) -> Path:
    for name in order or list(files):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(files[name], encoding="utf-8")
    return root


def test_same_inventory_in_another_folder_gives_the_same_digest(tmp_path: Path) -> None:
    a = _inventory(tmp_path / "a", FILES)
    b = _inventory(tmp_path / "elsewhere" / "b", FILES, order=list(reversed(FILES)))
    assert converge_digest(a, SITE_PLAYBOOK, {"x": 1}) == converge_digest(b, SITE_PLAYBOOK, {"x": 1})


def test_digest_follows_inventory_names_contents_and_extra_vars(tmp_path: Path) -> None:
    base = converge_digest(_inventory(tmp_path / "base", FILES), SITE_PLAYBOOK, {"x": 1})
    changed = {**FILES, "group_vars/all.yml": "slurm_cluster_name: lab2\n"}
    renamed = {"hosts.yml": FILES["hosts.yml"], "group_vars/gpu.yml": FILES["group_vars/all.yml"]}
    digests = {
        converge_digest(_inventory(tmp_path / "changed", changed), SITE_PLAYBOOK, {"x": 1}),
        converge_digest(_inventory(tmp_path / "renamed", renamed), SITE_PLAYBOOK, {"x": 1}),
        converge_digest(_inventory(tmp_path / "vars", FILES), SITE_PLAYBOOK, {"x": 2}),
    }
    assert base not in digests and len(digests) == 3


def test_digest_follows_the_playbooks(tmp_path: Path) -> None:
    inventory = _inventory(tmp_path / "inv", FILES)
    playbooks = tmp_path / "playbooks"
    playbooks.mkdir()
    (playbooks / "site.yml").write_text(SITE_PLAYBOOK.read_text(encoding="utf-8"), encoding="utf-8")
    same = converge_digest(inventory, playbooks / "site.yml", {})
    (playbooks / "site.yml").write_text(SITE_PLAYBOOK.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    assert same != converge_digest(inventory, playbooks / "site.yml", {})
