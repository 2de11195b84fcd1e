"""The module registry finds modules by their metadata; users add their own through $AIFACTORY_MODULES."""

from __future__ import annotations

from pathlib import Path

import pytest

from aifactory.errors import UserError
from aifactory.modules import discover


def test_repository_modules_in_order() -> None:
    names = [s.name for s in discover().ordered()]
    assert [
        "compute-nodegroups",
        "mlops-platform",
        "cooling-alerts",
        "fabric-network",
        "storage-shared",
    ] == names


def test_unknown_module_lists_valid_ones() -> None:
    with pytest.raises(UserError, match="valid modules: compute-nodegroups, cooling-alerts"):
        discover().get("gpu-magic")


def test_user_module_is_discovered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "mymods" / "mlops" / "extra"
    folder.mkdir(parents=True)
    (folder / "module.yaml").write_text(
        "name: mlops-extra\nlayer: mlops\ntype: acme:mlops:Extra\n"
        "entry: component:Extra\nargs: component:ExtraArgs\norder: 90\n"
    )
    (folder / "component.py").write_text("class Extra:\n    pass\n\nclass ExtraArgs:\n    pass\n")
    monkeypatch.setenv("AIFACTORY_MODULES", str(tmp_path / "mymods"))
    spec = discover().get("MLOPS-EXTRA")
    assert "Extra" == spec.component_class().__name__


def test_bad_metadata_names_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "fabric" / "x"
    folder.mkdir(parents=True)
    (folder / "module.yaml").write_text("name: x\nlayer: mlops\ntype: a:b:C\nentry: c:C\nargs: c:A\n")
    with pytest.raises(UserError, match=r"module\.yaml"):
        discover([tmp_path])


def _site_roles() -> set[str]:
    """The roles playbooks/site.yml runs (fully qualified aifactory.factory.*), with their meta dependencies."""
    import yaml

    root = Path(__file__).resolve().parents[2]
    plays = yaml.safe_load((root / "playbooks" / "site.yml").read_text())
    todo = [r["role"].removeprefix("aifactory.factory.") for p in plays for r in p.get("roles", [])]
    seen: set[str] = set()
    while todo:
        role = todo.pop()
        if role not in seen:
            seen.add(role)
            meta = yaml.safe_load((root / "roles" / role / "meta" / "main.yml").read_text())
            todo += [d["role"] if isinstance(d, dict) else d for d in meta.get("dependencies") or []]
    return seen


def test_every_module_role_exists() -> None:
    roles = Path(__file__).resolve().parents[2] / "roles"
    for spec in discover().ordered():
        missing = [r for r in spec.roles if not (roles / r / "tasks" / "main.yml").is_file()]
        assert [] == missing, f"{spec.folder / 'module.yaml'}: roles: names roles not in roles/"


def test_nodegroups_module_lists_the_roles_it_runs() -> None:
    assert _site_roles() == set(discover().get("compute-nodegroups").roles)
