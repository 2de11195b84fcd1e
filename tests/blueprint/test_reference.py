"""Every reference blueprint validates, and its loaded model matches a checked-in golden JSON.

Regenerate the goldens after an intended change with:

    AIFACTORY_REGEN=1 .venv/bin/python -m pytest tests/blueprint/test_reference.py

then review `git diff tests/golden/blueprints/` before committing.
"""

from __future__ import annotations

import pytest

from aifactory.blueprint import load_blueprint
from aifactory.blueprint.sources import catalogue_names
from aifactory.io import dumps_json
from tests.conftest import REFERENCE_BLUEPRINTS, REPO, golden_file

GOLDEN = REPO / "tests" / "golden" / "blueprints"
NAMES = REFERENCE_BLUEPRINTS


def test_catalogue_lists_every_file_in_blueprints() -> None:
    assert catalogue_names() == NAMES
    assert len(NAMES) >= 7


@pytest.mark.parametrize("name", NAMES)
def test_reference_blueprint_matches_its_golden(name: str) -> None:
    loaded = load_blueprint(REPO / "blueprints" / f"{name}.yaml")
    assert name == loaded.model.name
    text = dumps_json(loaded.model.model_dump(mode="json", by_alias=True))
    assert golden_file(GOLDEN / f"{name}.json", text) == text, "intended? AIFACTORY_REGEN=1 (see module doc)"


def test_no_stale_goldens() -> None:
    assert sorted(p.stem for p in GOLDEN.glob("*.json")) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_canonical_dump_loads_back_to_the_same_model(name: str) -> None:
    model = load_blueprint(name).model
    dumped = model.model_dump(mode="json", by_alias=True)
    assert model == type(model).model_validate(dumped)


@pytest.mark.parametrize("name", NAMES)
def test_catalogue_name_and_path_load_the_same_blueprint(name: str) -> None:
    by_name = load_blueprint(name)
    by_path = load_blueprint(REPO / "blueprints" / f"{name}.yaml")
    assert by_path.model == by_name.model
    assert by_path.data == by_name.data
