"""aifactory/resources.py is the one place that knows where the product's files are: in a checkout they are its
top-level folders (through the links in aifactory/share), and no other module finds a file from its own path."""

from __future__ import annotations

from pathlib import Path

import pytest

from aifactory import resources

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "aifactory"


def test_in_a_checkout_the_data_is_the_top_level_folders() -> None:
    assert resources.source_root() == REPO
    assert resources.blueprints_dir() == REPO / "blueprints"
    assert resources.roles_dir() == REPO / "roles"
    assert resources.site_playbook() == REPO / "playbooks" / "site.yml"
    assert resources.modules_dir() == REPO / "modules"
    assert resources.stacks_dir() == REPO / "stacks"
    assert resources.stack_program() == REPO / "stacks" / "__main__.py"
    assert resources.schema_file() == REPO / "schema" / "blueprint.schema.json"
    assert resources.lab_lock() == REPO / "requirements" / "lab.txt"
    assert resources.docs_dir() == REPO / "docs"
    collection = resources.collection_dir()
    assert collection == resources.collections_path() / "ansible_collections" / "aifactory" / "factory"
    for part, top in (("roles", "roles"), ("playbooks", "playbooks"), ("meta", "meta"), ("galaxy.yml", "galaxy.yml")):
        assert (collection / part).resolve() == REPO / top


def test_shown_paths_are_the_same_from_a_checkout_and_a_wheel() -> None:
    assert "requirements/lab.txt" == resources.display(resources.lab_lock())
    assert "blueprints/lab.yaml" == resources.display(resources.blueprints_dir() / "lab.yaml")


def test_no_other_module_finds_files_from_its_own_path() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "resources.py" or "share" in path.relative_to(PACKAGE).parts:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if "__file__" in line and not line.lstrip().startswith("#"):
                offenders.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert [] == offenders


def test_catalogue_files_are_shown_by_their_catalogue_path_from_anywhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aifactory.blueprint.sources import display_path

    monkeypatch.chdir(tmp_path)
    assert "blueprints/lab.yaml" == display_path(resources.blueprints_dir() / "lab.yaml")
    elsewhere = tmp_path.parent / "x.yaml"
    assert str(elsewhere) == display_path(elsewhere)
    monkeypatch.chdir(REPO / "blueprints")
    assert "lab.yaml" == display_path(REPO / "blueprints" / "lab.yaml")
