"""Turn pydantic's validation errors into Problems on the YAML line, with a hint for each."""

from __future__ import annotations

import difflib
import typing
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from aifactory.errors import Location, Problem

Path = tuple[str | int, ...]


def _data_path(loc: tuple[str | int, ...], data: Any) -> tuple[Path, list[str | int]]:
    """Follow `loc` through the data; segments that are not keys (union tags, validator names) are skipped.
    Returns the deepest existing path and the remaining segments."""
    path: list[str | int] = []
    node = data
    rest = list(loc)
    while rest:
        seg = rest[0]
        in_map = isinstance(node, Mapping) and isinstance(seg, str) and seg in node
        in_list = isinstance(node, list) and isinstance(seg, int) and 0 <= seg < len(node)
        if in_map or in_list:
            node = node[seg]
        elif isinstance(seg, str) and (len(rest) > 1 or not isinstance(node, Mapping)):
            rest.pop(0)  # a union member's tag or a validator name
            continue
        else:
            break
        path.append(seg)
        rest.pop(0)
    return tuple(path), rest


def _model_at(model: type[BaseModel], path: Path, data: Any) -> type[BaseModel] | None:
    """The model class that validates the mapping at `path` (best effort, for listing valid keys)."""
    current: Any = model
    node = data
    for seg in path:
        if isinstance(seg, int):
            node = node[seg]
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        field = next((f for n, f in current.model_fields.items() if (f.alias or n) == seg), None)
        if field is None:
            return None
        node = node[seg] if isinstance(node, Mapping) else None
        current = _pick(field.annotation, node)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _pick(annotation: Any, node: Any) -> Any:
    """Unwrap Optional/list/dict/Annotated down to a model class, choosing a union member by `type`."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _pick(typing.get_args(annotation)[0], node)
    if origin in (list, dict):
        return _pick(typing.get_args(annotation)[-1], None)
    args = typing.get_args(annotation)
    models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
    if args and models:
        wanted = node.get("type") if isinstance(node, Mapping) else None
        for m in models:
            tag = m.model_fields.get("type")
            if tag is not None and wanted in typing.get_args(tag.annotation):
                return m
        return models[0]
    if args:
        return next((_pick(a, node) for a in args if _pick(a, node) is not None), None)
    return annotation


def _keys(model: type[BaseModel] | None) -> list[str]:
    return sorted((f.alias or n) for n, f in model.model_fields.items()) if model else []


def problems_from(err: ValidationError, data: Any, locs: Mapping[Path, Location],
                  model: type[BaseModel]) -> list[Problem]:
    out = []
    for e in err.errors(include_url=False):
        path, rest = _data_path(e["loc"], data)
        if e["type"] == "union_tag_invalid" and (*path, "type") in locs:
            path = (*path, "type")  # point at the `type:` line itself
        dotted = ".".join(str(p) for p in (*path, *rest))
        loc = locs.get(path)
        if e["type"] == "secret_ref" and loc is not None and loc.file.startswith("--set "):
            # `--set PATH=VALUE` names its argument, and VALUE may be the credential itself.
            loc = Location(loc.file.partition("=")[0] + "=<not shown>")
        out.append(Problem(loc, *_describe(e, path, rest, data, model), path=dotted))
    return out


def _describe(e: ErrorDetails, path: Path, rest: list[str | int], data: Any,
              model: type[BaseModel]) -> tuple[str, str]:
    kind, msg, value = e["type"], e["msg"], e.get("input")
    if kind == "secret_ref":  # never quote the input: it may be the credential itself
        return msg, ("write `{secret: NAME}` and keep the value in the secret store "
                     "(`pulumi config set --secret NAME`, or NAME in an Ansible Vault vars file)")
    if kind == "missing":
        name = rest[-1] if rest else (path[-1] if path else "?")
        under = ".".join(str(p) for p in path) or "the top level"
        return f"required key {name!r} is missing", f"add `{name}:` under {under}"
    if kind == "extra_forbidden":
        valid = _keys(_model_at(model, path[:-1], data))
        near = difflib.get_close_matches(str(path[-1]), valid, n=1)
        hint = f"did you mean {near[0]!r}? " if near else "remove it; "
        return f"unknown key {path[-1]!r}", hint + (f"valid keys here: {', '.join(valid)}" if valid else "")
    if kind == "union_tag_invalid":
        ctx = e.get("ctx", {})
        return (f"unknown {str(ctx.get('discriminator', 'type')).strip(chr(39))} {ctx.get('tag')!r}",
                f"use one of {ctx.get('expected_tags')}")
    if kind == "literal_error":
        return f"{msg}, got {value!r}", "use one of the values listed"
    if kind in ("shorthand", "shorthand_range", "cidr", "catalog_id"):
        return msg, _SHORTHAND_HINTS.get(kind, "see the message")
    if kind == "value_error":
        return msg.removeprefix("Value error, "), "see the message for the fix"
    shown = "" if isinstance(value, dict | list) else f" (got {value!r})"
    return f"{msg}{shown}", _TYPE_HINTS.get(kind.split("_")[0], "fix the value's type or range")


_SHORTHAND_HINTS = {
    "shorthand": "use a number with a unit as shown",
    "shorthand_range": "use a value within the range",
    "cidr": "write the network address with its prefix length; host bits must be zero",
    "catalog_id": "use one of the valid ids; `aifactory catalog list` shows them with their figures",
}
_TYPE_HINTS = {
    "int": "write a whole number without quotes",
    "float": "write a number without quotes",
    "bool": "write true or false without quotes",
    "string": "quote the value",
    "greater": "use a larger value",
    "less": "use a smaller value",
    "too": "change the number of items",
    "dict": "write a mapping (key: value lines)",
    "list": "write a list (lines starting with '- ')",
    "model": "write a mapping (key: value lines)",
}
