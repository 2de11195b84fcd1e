"""The same rules during `pulumi preview/up`: validate functions for a Pulumi CrossGuard pack.

This module never imports pulumi_policy: `policypack/__main__.py` wraps these plain functions in
ResourceValidationPolicy / StackValidationPolicy objects (building a PolicyPack starts a server and blocks, so
only that entry point may do it). Tests call the validate functions directly.

Rendered resources name their origin in Kubernetes metadata (the stacks set these keys):
- annotation `aifactory.io/source: <file>#<json pointer>`: the blueprint value the resource renders;
- label `aifactory.io/blueprint: <blueprint name or path>`, label `aifactory.io/region: <site.region>`.
The design to check is, in order: the policy config `target` (a blueprint or stack file),
$AIFACTORY_POLICY_TARGET, the `aifactory.io/blueprint` label, the file named in the source annotation.

Per-resource rules report on the resource whose pointer covers the finding; whole-design budgets (power,
cooling, ports, storage, addressing) are stack policies. A value unknown during preview makes the resource not
applicable; the pull-request check covers it.

What is reported, and at which enforcement, is the policy gate's decision (`aifactory.policy.check.gate`, as
`aifactory policy check` with no flags): the pack runs at the repository root, so `.aifactory-policy.yaml`
(levels, `fail_on`, `baseline:`) and the waivers apply as they do in the pull-request check.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from aifactory.policy.engine import effective_level
from aifactory.policy.model import Finding, Rule
from aifactory.policy.registry import all_rules

SOURCE = "aifactory.io/source"
BLUEPRINT = "aifactory.io/blueprint"
REGION = "aifactory.io/region"
TARGET_ENV = "AIFACTORY_POLICY_TARGET"
_STACK_TAGS = {"power", "cooling", "storage"}
Report = Callable[..., None]


@dataclass(frozen=True)
class PolicySpec:
    """What policypack/__main__.py turns into one CrossGuard policy."""

    name: str
    description: str
    enforcement: str  # "advisory" | "mandatory" | "disabled"
    kind: str  # "resource" | "stack"
    validate: Callable[[Any, Report], None]


def is_stack_rule(rule: Rule) -> bool:
    return rule.needs_design or bool(_STACK_TAGS & set(rule.tags))


def metadata(props: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """(labels, annotations) of a rendered resource; Pulumi hands inputs back with camelCase keys."""
    meta = props.get("metadata") or {}
    if not isinstance(meta, Mapping):
        return {}, {}
    labels = meta.get("labels") or {}
    annotations = meta.get("annotations") or {}
    return dict(labels) if isinstance(labels, Mapping) else {}, (
        dict(annotations) if isinstance(annotations, Mapping) else {}
    )


def source_of(props: Mapping[str, Any]) -> tuple[str, str] | None:
    """(file, json pointer) from the source annotation, or None."""
    _, annotations = metadata(props)
    raw = annotations.get(SOURCE)
    if not isinstance(raw, str) or "#" not in raw:
        return None
    file, _, pointer = raw.partition("#")
    return file, pointer or "/"


def target_of(config: Mapping[str, Any], props: Mapping[str, Any]) -> str | None:
    labels, _ = metadata(props)
    src = source_of(props)
    for candidate in (
        config.get("target"),
        os.environ.get(TARGET_ENV),
        labels.get(BLUEPRINT),
        src[0] if src else None,
    ):
        if isinstance(candidate, str) and candidate:
            return candidate
    return None


@lru_cache(maxsize=16)
def findings_for(target: str) -> tuple[tuple[Finding, str], ...]:
    """Every reported finding on `target` with the enforcement it takes, as the policy gate decides it
    (`aifactory policy check` with no flags): "mandatory" for a failing finding, "advisory" for one that is
    active but does not fail; a waived or baselined finding is left out. Cached per run."""
    from aifactory.policy.check import default_options, gate, load_target

    report = gate([load_target(target)], default_options())
    out = []
    for f in report.findings:
        if report.fails(f):
            out.append((f, "mandatory"))
        elif not (f.waived or f.baselined):
            out.append((f, "advisory"))
    return tuple(out)


@lru_cache(maxsize=16)
def _image_enforcement(target: str, rule_id: str) -> str:
    """The enforcement of the image check (SOV-009 on rendered resources) on `target`, by the gate's rule."""
    from aifactory.policy.check import default_options, load_target
    from aifactory.policy.registry import get_rule
    from aifactory.policy.report import Report

    found, options = load_target(target), default_options()
    rule = get_rule(rule_id)
    level = effective_level(rule, found.loaded.model.site.sovereignty.enforced, options.config.levels)
    if Report([], [], options.threshold).fails_at(level, rule.severity):
        return "mandatory"
    return "advisory" if level == "advisory" else "disabled"


def _covers(resource_pointer: str, finding_pointer: str) -> bool:
    a, b = resource_pointer.rstrip("/"), finding_pointer.rstrip("/")
    return a == b or b.startswith(a + "/") or a.startswith(b + "/")


def _text(f: Finding) -> str:
    return f"{f.rule} {f.title}: {f.message} ({f.location}, {f.pointer}). Fix: {f.remediation}"


def _matching(target: str, rule: Rule, enforcement: str) -> Iterator[Finding]:
    for f, taken in findings_for(target):
        if f.rule == rule.id and taken == enforcement:
            yield f


def _resource_validator(rule: Rule, enforcement: str) -> Callable[[Any, Report], None]:
    def validate(args: Any, report_violation: Report) -> None:
        src = source_of(args.props)
        target = target_of(args.get_config(), args.props)
        if src is None or target is None:
            return
        for f in _matching(target, rule, enforcement):
            if _covers(src[1], f.pointer):
                report_violation(_text(f))
        if rule.id == "SOV-009" and enforcement == _image_enforcement(target, rule.id):
            for image in bad_images(target, args.props):
                report_violation(
                    f"SOV-009 image {image!r} does not come from an in-jurisdiction mirror "
                    f"(rendered from {src[0]}#{src[1]})"
                )

    return validate


def _stack_validator(rule: Rule, enforcement: str) -> Callable[[Any, Report], None]:
    def validate(args: Any, report_violation: Report) -> None:
        targets = sorted({t for r in args.resources if (t := target_of(args.get_config(), r.props))})
        if not targets and isinstance(args.get_config().get("target"), str):
            targets = [args.get_config()["target"]]
        for target in targets:
            for f in _matching(target, rule, enforcement):
                report_violation(_text(f), None)

    return validate


def _images(node: Any) -> Iterator[str]:
    if isinstance(node, Mapping):
        for key, value in node.items():
            if key == "image" and isinstance(value, str):
                yield value
            else:
                yield from _images(value)
    elif isinstance(node, list | tuple):
        for item in node:
            yield from _images(item)


def bad_images(target: str, props: Mapping[str, Any]) -> list[str]:
    """Container images in `props` that no in-jurisdiction oci mirror or allowed registry serves."""
    from aifactory.policy.check import load_target
    from aifactory.policy.context import Context
    from aifactory.policy.rules.sovereignty import served

    ctx = Context(load_target(target).loaded)
    out = []
    for image in _images(props):
        first = image.split("/")[0]
        host = first if ("." in first or ":" in first) and "/" in image else "docker.io"
        if not served(ctx, host, ("oci",)):
            out.append(image)
    return sorted(set(out))


def policies() -> list[PolicySpec]:
    """Two policies per rule, one per enforcement a finding can take: the gate's configured levels, `fail_on`,
    waivers and baseline decide which of the two reports it. The one at the rule's default level keeps the
    rule's name; its twin is suffixed `-advisory` or `-mandatory`."""
    specs = []
    for rule in all_rules():
        kind = "stack" if is_stack_rule(rule) else "resource"
        make = _stack_validator if kind == "stack" else _resource_validator
        first = "mandatory" if rule.level == "mandatory" else "advisory"
        for level in (first, "advisory" if first == "mandatory" else "mandatory"):
            suffix = "" if level == first else f"-{level}"
            specs.append(
                PolicySpec(
                    f"{rule.id.lower()}{suffix}", f"{rule.id}: {rule.title}", level, kind, make(rule, level)
                )
            )
    return specs
