"""Schema checks for rendered objects: kubernetes-validate (strict) for built-in kinds, the upstream CRD
schemas in tests/data/crds for custom resources. CRD schemas rarely forbid unknown fields themselves (the API
server prunes them); here unknown fields are errors, as with kubectl's strict field validation."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate

CRDS = Path(__file__).resolve().parents[1] / "data" / "crds"


def _strict(schema: Any) -> Any:
    if isinstance(schema, dict):
        out = {k: _strict(v) for k, v in schema.items()}
        if isinstance(schema.get("pattern"), str) and "(?i)" in schema["pattern"]:
            # Go's RE2 accepts an inline flag after '^'; Python wants global flags first.
            out["pattern"] = "(?i)" + schema["pattern"].replace("(?i)", "")
        preserve = schema.get("x-kubernetes-preserve-unknown-fields")
        if "properties" in schema and "additionalProperties" not in schema and not preserve:
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [_strict(v) for v in schema]
    return schema


@cache
def crd_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    out = {}
    for path in sorted(CRDS.glob("*.json")):
        doc = json.loads(path.read_text())
        schema = copy.deepcopy(doc["schema"])
        # apiVersion/kind/metadata are the API server's; the CRD schema leaves metadata open.
        out[(doc["apiVersion"], doc["kind"])] = _strict(schema)
    return out


def validate(obj: dict[str, Any], kubernetes_version: str) -> None:
    """Raise if `obj` does not match its schema; every kind must have one."""
    key = (obj["apiVersion"], obj["kind"])
    if key in crd_schemas():
        body = {k: v for k, v in obj.items() if k != "metadata"}
        jsonschema.validate(body, crd_schemas()[key])
        return
    kubernetes_validate.validate(obj, kubernetes_version, strict=True)
