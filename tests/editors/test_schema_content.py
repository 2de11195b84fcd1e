"""The editor schema itself (no editor needed): a valid draft 2020-12 schema, a description on every property,
and the same verdicts as aifactory on complete blueprints, extends-blueprints and broken ones."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
import yaml

from aifactory.blueprint.jsonschema import blueprint_schema
from tests.editors.cases import BLUEPRINTS, SCHEMA, SITE, SITE_BROKEN, lab_broken

DOC: dict[str, Any] = json.loads(SCHEMA.read_text(encoding="utf-8"))
VALIDATOR = jsonschema.validators.validator_for(DOC)(DOC)


def _errors(instance: Any) -> list[str]:
    """Each error as 'path: message', with the errors inside anyOf/oneOf branches listed as well."""
    out: list[str] = []
    pending = list(VALIDATOR.iter_errors(instance))
    while pending:
        error = pending.pop()
        out.append(f"{'/'.join(map(str, error.absolute_path))}: {error.message}")
        pending += error.context or []
    return sorted(out)


def _properties(node: Any, where: str = "") -> list[tuple[str, Any]]:
    """Every (pointer, schema) under a `properties` keyword anywhere in `node`."""
    found: list[tuple[str, Any]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "properties" and isinstance(value, dict):
                for name, sub in value.items():
                    found.append((f"{where}/properties/{name}", sub))
                    found += _properties(sub, f"{where}/properties/{name}")
            else:
                found += _properties(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, item in enumerate(node):
            found += _properties(item, f"{where}/{i}")
    return found


def test_schema_passes_its_metaschema() -> None:
    assert "https://json-schema.org/draft/2020-12/schema" == DOC["$schema"]
    jsonschema.Draft202012Validator.check_schema(DOC)


def test_committed_schema_is_the_generated_one() -> None:
    assert blueprint_schema() == DOC


def test_every_property_has_a_description() -> None:
    props = _properties(DOC)
    assert len(props) > 400  # complete and override definitions of every model
    undescribed = [where for where, sub in props if not (isinstance(sub, dict) and sub.get("description"))]
    assert [] == undescribed


@pytest.mark.parametrize("path", BLUEPRINTS, ids=lambda p: p.name)
def test_reference_blueprints_are_valid(path: Any) -> None:
    assert [] == _errors(yaml.safe_load(path.read_text(encoding="utf-8")))


def test_site_blueprint_that_extends_is_valid() -> None:
    assert [] == _errors(yaml.safe_load(SITE))


def test_extends_blueprint_still_catches_mistakes() -> None:
    errors = _errors(yaml.safe_load(SITE_BROKEN))
    assert any(e.startswith("compute/scalable_units: 'two' is not valid") for e in errors), errors
    assert any(e.startswith("compute: Additional properties are not allowed ('colour'") for e in errors), errors
    assert any(e.startswith("storage/filesystem: {'tier': 'platinum'} is not valid") for e in errors), errors
    assert any(e.startswith("mlops/orchestrator: {'type': 'nomad'} is not valid") for e in errors), errors
    assert "mlops/tenants/0: 'gpus' is a required property" in errors
    assert any(e.startswith("site/name: None is not of type 'string'") for e in errors), errors


def test_broken_complete_blueprint_is_invalid() -> None:
    text, _ = lab_broken()
    errors = _errors(yaml.safe_load(text))
    assert "fabric/addressing: 'oob' is a required property" in errors
    assert ": 'software' is a required property" in errors


@pytest.mark.parametrize("path", [p for p in BLUEPRINTS if "extends:" not in p.read_text(encoding="utf-8")],
                         ids=lambda p: p.name)
def test_complete_blueprint_needs_every_required_section(path: Any) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    for key in DOC["$defs"]["Blueprint"]["required"]:
        partial = {k: v for k, v in data.items() if k != key}
        assert f": '{key}' is a required property" in _errors(partial), key


def test_extends_blueprint_needs_nothing_else() -> None:
    # Any subset of a complete blueprint is a valid override; only the `extends:` key makes it one.
    data = yaml.safe_load(SITE)
    for key in [k for k in data if k != "extends"]:
        assert [] == _errors({k: v for k, v in data.items() if k != key}), key
    assert [] == _errors({"extends": "lab"})
    assert _errors({"name": "acme"})  # without extends it is an incomplete blueprint
