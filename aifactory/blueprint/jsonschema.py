"""The editor JSON Schema of a blueprint file (`aifactory schema`, committed as schema/blueprint.schema.json).

A blueprint file is one of two things, and the schema tells them apart by the `extends:` key:

- a complete blueprint: every required field is present (the pydantic model's own schema, `#/$defs/Blueprint`);
- an override of another blueprint (`extends: NAME`): the file is deep-merged onto its base before validation
  (aifactory/blueprint/merge.py), so no field is required, a mapping may hold any subset of its keys, and a null
  removes a key the base set (allowed only where the field has a default, since a removed required field would
  leave the merged blueprint incomplete). Types, enums, bounds and unknown keys are still checked. A list is
  replaced whole by the merge, so each list item must be complete. These are the `...Override` definitions.

In an override a discriminated union (file system, rack group, orchestrator, compute fabric) may omit its `type`
(the base supplies it), so its `oneOf` becomes an `anyOf`: a mapping is accepted when some variant accepts it.
"""

from __future__ import annotations

import copy
from typing import Any

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_ID = "blueprint.schema.json"
OVERRIDE = "Override"  # suffix of the override definitions
_DEFS = "#/$defs/"

# Keywords whose value is one schema, a list of schemas, or a mapping of names to schemas (draft 2020-12).
_ONE = ("not", "if", "then", "else", "contains", "propertyNames", "unevaluatedProperties", "unevaluatedItems")
_LIST = ("allOf", "anyOf", "oneOf")
_ITEMS = ("items", "prefixItems")

EXTENDS = {
    "type": "string",
    "minLength": 1,
    "description": "The blueprint this file builds on: a catalogue name (e.g. 'dgx-h100-superpod') or a path "
    "relative to this file inside the same repository. This file is deep-merged onto it: mappings merge key by "
    "key, lists and scalars replace the base's, and a null removes a key so its default applies.",
}


def _is_nullable(schema: dict[str, Any]) -> bool:
    if schema.get("type") == "null" or (isinstance(schema.get("type"), list) and "null" in schema["type"]):
        return True
    return any(isinstance(s, dict) and _is_nullable(s) for s in schema.get("anyOf", []))


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema`, or null: annotations (description, title, default) stay on the outside for hover text."""
    if _is_nullable(schema):
        return schema
    outer = {k: v for k, v in schema.items() if k in ("description", "title", "default")}
    inner = {k: v for k, v in schema.items() if k not in outer}
    return {**outer, "anyOf": [inner, {"type": "null"}]}


class _Overrides:
    """Builds the `...Override` definitions reachable from the blueprint's own."""

    def __init__(self, defs: dict[str, Any]) -> None:
        self.defs = defs
        self.wanted: list[str] = []

    def ref(self, target: str) -> str:
        name = target.removeprefix(_DEFS)
        if name not in self.wanted:
            self.wanted.append(name)
        return f"{_DEFS}{name}{OVERRIDE}"

    def schema(self, node: Any) -> Any:
        """The override form of one schema: nothing required, refs to override definitions, unions open."""
        if not isinstance(node, dict):
            return node  # `true`/`false` schemas
        required = set(node.get("required", []))
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in ("required", "discriminator"):
                continue  # nothing is required; without a required `type` the discriminator does not hold
            if key == "$ref":
                out[key] = self.ref(value)
            elif key == "properties":
                out[key] = {name: self._property(sub, name in required) for name, sub in value.items()}
            elif key == "additionalProperties" and isinstance(value, dict):
                out[key] = _nullable(self.schema(value))  # a mapping's entries merge; null drops one
            elif key in _ITEMS:
                out[key] = value  # lists are replaced whole: each item is complete
            elif key == "oneOf":
                out["anyOf"] = [self.schema(s) for s in value]
            elif key in _LIST:
                out[key] = [self.schema(s) for s in value]
            elif key in _ONE:
                out[key] = self.schema(value)
            else:
                out[key] = copy.deepcopy(value)
        return out

    def _property(self, sub: dict[str, Any], required: bool) -> dict[str, Any]:
        converted = self.schema(sub)
        return converted if required else _nullable(converted)

    def build(self, root: str) -> dict[str, Any]:
        self.ref(_DEFS + root)
        out: dict[str, Any] = {}
        done = 0
        while done < len(self.wanted):
            name = self.wanted[done]
            done += 1
            override = self.schema(self.defs[name])
            if "title" in override:
                override["title"] = f"{override['title']} (override)"
            out[name + OVERRIDE] = override
        return out


def blueprint_schema() -> dict[str, Any]:
    """The JSON Schema document for blueprint files, deterministic (callers dump it with sorted keys)."""
    from aifactory.blueprint.model import Blueprint

    generated = Blueprint.model_json_schema(by_alias=True)
    defs: dict[str, Any] = generated.pop("$defs")
    generated["properties"]["extends"] = EXTENDS
    if "Blueprint" in defs or any(name.endswith(OVERRIDE) for name in defs):
        raise RuntimeError("a model name collides with the schema's own definition names")
    defs["Blueprint"] = generated
    overrides = _Overrides(defs).build("Blueprint")
    return {
        "$schema": SCHEMA_DIALECT,
        "$id": SCHEMA_ID,
        "title": "aifactory blueprint",
        "description": "An aifactory blueprint (apiVersion aifactory/v1, kind Blueprint). A file with `extends:` "
        "overrides the blueprint it names, so it may leave out anything the base supplies; any other file must be "
        "complete.",
        "type": "object",
        "if": {"required": ["extends"]},
        "then": {"$ref": f"{_DEFS}Blueprint{OVERRIDE}"},
        "else": {"$ref": f"{_DEFS}Blueprint"},
        "$defs": {**defs, **overrides},
    }
