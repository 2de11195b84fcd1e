"""Packaging of the Ansible layer: the site playbook runs from the repository root with nothing but
ansible.cfg, and the roles ship as the collection aifactory.factory (galaxy.yml), built and installed for
real, whose site playbook resolves every role from the installed collection alone."""

from __future__ import annotations

import subprocess
import sys
import tarfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SHIPPED = {"CHANGELOG.md", "FILES.json", "MANIFEST.json", "README.md", "meta", "playbooks", "roles"}


def _run(args: list[str], cwd: Path, home: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """A command with a bare environment: no ANSIBLE_* variable unless given, a fresh HOME."""
    base = {"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8"}
    return subprocess.run(args, cwd=cwd, env={**base, **env}, capture_output=True, text=True, timeout=300,
                          check=False)  # fmt: skip


def test_syntax_check_from_the_root_needs_no_environment(tmp_path: Path) -> None:
    done = _run([str(BIN / "ansible-playbook"), "--syntax-check", "-i", "localhost,", "playbooks/site.yml"],
                REPO, tmp_path)  # fmt: skip
    assert 0 == done.returncode, done.stdout + done.stderr
    # The plain roles path plays no part: the playbook's roles come from the collection path.
    empty = tmp_path / "no-roles"
    empty.mkdir()
    done = _run([str(BIN / "ansible-playbook"), "--syntax-check", "-i", "localhost,", "playbooks/site.yml"],
                REPO, tmp_path, ANSIBLE_ROLES_PATH=str(empty))  # fmt: skip
    assert 0 == done.returncode, done.stdout + done.stderr


def test_outside_the_root_the_roles_are_not_found_without_the_config(tmp_path: Path) -> None:
    # What ansible.cfg (and ansible_env's ANSIBLE_CONFIG) fixes: elsewhere, no role resolves.
    done = _run([str(BIN / "ansible-playbook"), "--syntax-check", "-i", "localhost,", str(REPO / "playbooks/site.yml")],
                tmp_path, tmp_path)  # fmt: skip
    assert 0 != done.returncode
    assert "aifactory.factory.base" in done.stdout + done.stderr
    done = _run([str(BIN / "ansible-playbook"), "--syntax-check", "-i", "localhost,", str(REPO / "playbooks/site.yml")],
                tmp_path, tmp_path, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"))  # fmt: skip
    assert 0 == done.returncode, done.stdout + done.stderr


def test_collection_builds_installs_and_runs_the_site_playbook(tmp_path: Path) -> None:
    built = _run([str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(tmp_path / "dist")],
                 REPO, tmp_path)  # fmt: skip
    assert 0 == built.returncode, built.stdout + built.stderr
    (tarball,) = (tmp_path / "dist").glob("aifactory-factory-*.tar.gz")
    with tarfile.open(tarball) as tar:
        names = tar.getnames()
    assert set() == {n.split("/")[0] for n in names} - SHIPPED, "galaxy.yml build_ignore misses a new entry"
    roles = sorted(p.name for p in (REPO / "roles").iterdir() if (p / "tasks" / "main.yml").is_file())
    assert roles == sorted({n.split("/")[1] for n in names if n.startswith("roles/") and n.count("/") >= 1})
    assert not [n for n in names if "/molecule" in n]
    install = [str(BIN / "ansible-galaxy"), "collection", "install", "-p", str(tmp_path / "colls"), str(tarball)]
    installed = _run(install, tmp_path, tmp_path)
    assert 0 == installed.returncode, installed.stdout + installed.stderr
    root = tmp_path / "colls" / "ansible_collections" / "aifactory" / "factory"
    assert (root / "roles" / "base" / "tasks" / "main.yml").is_file()
    # From the installed collection alone (no checkout on any path): by file and by the playbook's FQCN.
    for playbook in (str(root / "playbooks" / "site.yml"), "aifactory.factory.site"):
        done = _run([str(BIN / "ansible-playbook"), "--syntax-check", "-i", "localhost,", playbook], tmp_path, tmp_path,
                    ANSIBLE_COLLECTIONS_PATH=str(tmp_path / "colls"))  # fmt: skip
        assert 0 == done.returncode, done.stdout + done.stderr
