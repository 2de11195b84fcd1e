"""Merge semantics for `extends:`, stack overrides and `--set`: the algebra, checked by Hypothesis."""

from __future__ import annotations

from typing import Any

from hypothesis import assume, given
from hypothesis import strategies as st

from aifactory.blueprint.merge import merge, prune_nulls
from aifactory.blueprint.yamlsrc import YNode, to_plain
from aifactory.errors import Location

HERE = Location("test.yaml", 1, 1)
KEYS = st.sampled_from(["a", "b", "c", "d"])
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.sampled_from(["x", "y", "400G"]))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                        st.dictionaries(KEYS, inner, max_size=3)), max_leaves=12)
MAPPINGS = st.dictionaries(KEYS, VALUES, max_size=4)


def node(value: Any) -> YNode:
    if isinstance(value, dict):
        return YNode({k: node(v) for k, v in value.items()}, HERE)
    if isinstance(value, list):
        return YNode([node(v) for v in value], HERE)
    return YNode(value, HERE)


def merged(*docs: dict[str, Any]) -> Any:
    tree = node(docs[0])
    for doc in docs[1:]:
        tree = merge(tree, node(doc))
    return to_plain(prune_nulls(tree))


def without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value


@given(MAPPINGS)
def test_empty_mapping_is_the_identity_on_both_sides(doc: dict[str, Any]) -> None:
    assert without_nulls(doc) == merged(doc, {})
    assert without_nulls(doc) == merged({}, doc)


def shapes_agree(*docs: Any) -> bool:
    """No key holds a mapping in one document and something else in another (a scalar or list replacing a
    mapping cuts the base off, so only where shapes agree may overrides be grouped freely)."""
    present = [d for d in docs if d is not None]
    if all(isinstance(d, dict) for d in present):
        keys = {k for d in present for k in d}
        return all(shapes_agree(*(d.get(k) for d in present)) for k in keys)
    return not any(isinstance(d, dict) for d in present)


def has_null(doc: Any) -> bool:
    return doc is None or (isinstance(doc, dict) and any(has_null(v) for v in doc.values()))


@given(MAPPINGS, MAPPINGS, MAPPINGS)
def test_merge_is_associative_where_shapes_agree(a: dict[str, Any], b: dict[str, Any], c: dict[str, Any]) -> None:
    """Where the middle document removes nothing. A null in it is not associative, and is not meant to be:
    `extends:` folds from the base down, so a: {k: {x: 1}}, b: {k: null}, c: {k: {}} is {k: {}} (b removed a's
    mapping before c added an empty one), while b and c merged first would keep a's x. The fold order is
    what the loader uses; test_null_removes_the_key_whatever_it_held covers the null."""
    assume(shapes_agree(a, b, c) and not has_null(b))
    left = merge(merge(node(a), node(b)), node(c))
    right = merge(node(a), merge(node(b), node(c)))
    assert to_plain(left) == to_plain(right)
    assert to_plain(prune_nulls(left)) == to_plain(prune_nulls(right))


@given(MAPPINGS, KEYS, st.one_of(SCALARS.filter(lambda v: v is not None), st.lists(SCALARS, max_size=3)))
def test_override_wins_and_lists_are_replaced_whole(base: dict[str, Any], key: str, value: Any) -> None:
    assert without_nulls(value) == merged(base, {key: value})[key]


@given(MAPPINGS, KEYS)
def test_null_removes_the_key_whatever_it_held(base: dict[str, Any], key: str) -> None:
    result = merged(base, {key: None})
    assert key not in result
    assert {k: v for k, v in merged(base).items() if k != key} == result


@given(MAPPINGS, MAPPINGS)
def test_mappings_merge_key_by_key(base: dict[str, Any], extra: dict[str, Any]) -> None:
    result = merged({"m": base}, {"m": extra})
    inner = result.get("m", {})
    kept = {k: without_nulls(v) for k, v in base.items() if k not in extra and v is not None}
    assert kept == {k: v for k, v in inner.items() if k not in extra}


def test_nulls_are_pruned_only_after_all_merges() -> None:
    # The middle layer removes `b`; the top layer sets `b.y` again: the result has only the top's `b`.
    assert merged({"a": 1, "b": {"x": 1}}, {"b": None}, {"b": {"y": 2}}) == {"a": 1, "b": {"y": 2}}


def test_the_override_keeps_its_own_positions() -> None:
    base = YNode({"k": YNode(1, Location("base.yaml", 3, 1))}, Location("base.yaml", 1, 1))
    top = YNode({"k": YNode(2, Location("top.yaml", 7, 1))}, Location("top.yaml", 1, 1))
    assert Location("top.yaml", 7, 1) == merge(base, top).value["k"].loc
