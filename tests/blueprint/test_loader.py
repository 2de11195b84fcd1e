"""`load_blueprint`: extends chains, overrides, `--set`, stack files, and where each value came from."""

from __future__ import annotations

from pathlib import Path

import pytest

from aifactory.blueprint import load_blueprint
from aifactory.blueprint.loader import LoadedBlueprint
from aifactory.blueprint.stackfile import load_source
from aifactory.errors import Location, UserError

REPO = Path(__file__).resolve().parents[2]
GOOD = REPO / "tests" / "hostile" / "bases" / "good.yaml"


@pytest.fixture
def repo_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A scratch repository (cwd) holding a copy of the corpus's valid base blueprint."""
    (tmp_path / ".git").mkdir()
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "good.yaml").write_bytes(GOOD.read_bytes())
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_child_values_win_and_keep_the_child_position(repo_dir: Path) -> None:
    child = write(repo_dir / "site" / "child.yaml",
                  "extends: ../base/good.yaml\nname: child\ncompute:\n  nodes: 3\n")
    loaded = load_blueprint(child)
    assert (loaded.model.name, loaded.model.compute.nodes, loaded.model.compute.nodes_per_su) == ("child", 3, 3)
    assert Location("site/child.yaml", 4, 3) == loaded.locate("compute", "nodes")
    assert Location("base/good.yaml", 16, 3) == loaded.locate("compute", "nodes_per_su")


def test_extends_a_catalogue_name(repo_dir: Path) -> None:
    child = write(repo_dir / "mine.yaml", "extends: lab\nname: my-lab\n")
    loaded = load_blueprint(child)
    assert loaded.model.name == "my-lab"
    assert load_blueprint("lab").model.compute == loaded.model.compute


def test_null_in_the_child_restores_the_default(repo_dir: Path) -> None:
    child = write(repo_dir / "c.yaml", "extends: base/good.yaml\ncompute:\n  hostname_prefix: ~\n")
    assert load_blueprint(child).model.compute.hostname_prefix == "node"


def test_locate_falls_back_to_the_nearest_ancestor(repo_dir: Path) -> None:
    loaded = load_blueprint(repo_dir / "base" / "good.yaml")
    assert loaded.locate("compute") == loaded.locate("compute", "mig", "enabled")  # a default: not in the file
    assert Location("base/good.yaml", 43, 7) == loaded.locate("cooling", "rack_groups", 0)


def test_pointer_escapes_per_rfc_6901() -> None:
    assert LoadedBlueprint.pointer("fabric", "nccl", "a/b~c", 0) == "/fabric/nccl/a~1b~0c/0"


def test_set_reaches_into_lists_by_index_and_wins_last(repo_dir: Path) -> None:
    loaded = load_blueprint("base/good.yaml", sets=["cooling.rack_groups.0.capacity=2kW",
                                                     "compute.scalable_units=2", "compute.scalable_units=3"])
    assert loaded.model.cooling.rack_groups[0].capacity == 2000.0
    assert loaded.model.compute.scalable_units == 3
    assert loaded.locate("compute", "scalable_units").file == "--set compute.scalable_units=3"


def test_set_a_whole_mapping_as_yaml(repo_dir: Path) -> None:
    loaded = load_blueprint("base/good.yaml", sets=["compute.mig={enabled: true, strategy: mixed}"])
    assert (loaded.model.compute.mig.enabled, loaded.model.compute.mig.strategy) == (True, "mixed")


def test_set_null_removes_a_key(repo_dir: Path) -> None:
    loaded = load_blueprint("base/good.yaml", sets=["compute.nodes=~"])
    assert loaded.model.compute.nodes is None


def test_stack_file_overrides_keep_the_stack_lines(repo_dir: Path) -> None:
    stack = write(repo_dir / "stacks" / "Pulumi.de-julich.yaml", (
        "config:\n"
        "  aifactory:blueprint: base/good.yaml\n"
        "  aifactory:region: de-julich\n"
        "  aifactory:overrides:\n"
        "    site:\n"
        "      region: de-julich\n"
    ))
    loaded, config = load_source(str(stack.relative_to(repo_dir)))
    assert config is not None
    assert (config.region, loaded.model.site.region) == ("de-julich", "de-julich")
    assert Location("stacks/Pulumi.de-julich.yaml", 6, 7) == loaded.locate("site", "region")


def test_problems_are_collected_not_stopped_at_the_first(repo_dir: Path) -> None:
    child = write(repo_dir / "two.yaml",
                  "extends: base/good.yaml\ncompute:\n  nodes: 0\n  login_nodes: lots\n")
    with pytest.raises(UserError) as err:
        load_blueprint(child)
    assert sorted(p.location.line for p in err.value.problems if p.location) == [3, 4]
    assert err.value.format_message().splitlines()[0] == "2 problems:"


def test_an_extends_chain_without_a_repository_stays_in_its_folder(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "base.yaml", GOOD.read_text(encoding="utf-8"))
    child = write(tmp_path / "sub" / "child.yaml", "extends: ../base.yaml\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UserError) as err:
        load_blueprint(child)
    assert "points outside the repository" in err.value.problems[0].message
