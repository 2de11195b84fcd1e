"""Deep merge for `extends:`, per-region stack overrides and `--set`.

Mappings merge key by key, the override winning; any other value (scalars, lists) is replaced whole. A null
removes a key: nulls are pruned after all merges, so `key: ~` in an override drops what the base set and the
field falls back to its default. The merge is associative, which lets overrides stack in any grouping.
"""

from __future__ import annotations

from aifactory.blueprint.yamlsrc import YNode


def merge(base: YNode, override: YNode) -> YNode:
    if isinstance(base.value, dict) and isinstance(override.value, dict):
        merged = dict(base.value)
        for key, value in override.value.items():
            merged[key] = merge(merged[key], value) if key in merged else value
        return YNode(merged, override.loc)
    return override


def prune_nulls(node: YNode) -> YNode:
    if isinstance(node.value, dict):
        return YNode({k: prune_nulls(v) for k, v in node.value.items() if v.value is not None}, node.loc)
    if isinstance(node.value, list):
        return YNode([prune_nulls(v) for v in node.value], node.loc)
    return node
