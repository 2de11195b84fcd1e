"""The same rules during `pulumi preview/up`: validate functions for a Pulumi CrossGuard pack.

This module never imports pulumi_policy: `policypack/__main__.py` wraps these plain functions in
ResourceValidationPolicy / StackValidationPolicy objects (building a PolicyPack starts a server and blocks, so
only that entry point may do it). Tests call the validate functions directly, and start the pack and call it over
the analyzer's gRPC protocol as the engine does (tests/pulumi/test_crossguard_grpc.py).

Rendered resources name their origin: Kubernetes objects in their metadata, Helm releases (which have no
metadata) in their `description` as `key=value` words (`aifactory.render.k8s.pulumi_resources.provenance`):
- `aifactory.io/source: <file>#<json pointer>`: the blueprint value the resource renders;
- `aifactory.io/blueprint: <blueprint name>`, `aifactory.io/region: <site.region>`.
The design to check (the target) is, in order: the policy config `target` (a blueprint or stack file),
$AIFACTORY_POLICY_TARGET, the stack the engine is running ($PULUMI_STACK, set by the engine for a policy pack:
`stacks/Pulumi.<stack>.yaml`, so the stack's overrides count), a stack file named in a source annotation, the
blueprint file named in it (a custom blueprint works by its path). Never the blueprint label: a name is not a
file, and the catalogue entry of that name lacks the stack's overrides.

Every finding `aifactory policy check <target>` reports is reported here once per rule: a per-resource rule on
each resource whose pointer covers the finding (before it is created), and its `-stack` policy reports the
findings no resource covers; whole-design rules are stack policies. What is reported, and at which enforcement,
is the policy gate's decision (`aifactory.policy.check.gate`, as `aifactory policy check` with no flags): the
pack runs at the repository root, so `.aifactory-policy.yaml` (levels, `fail_on`, `baseline:`) and the waivers
apply as they do in the pull-request check.

Beyond the design rules, SOV-009 judges the container images in every rendered resource (strings, `{registry,
repository, tag}` values, `{repository, image, version}` operator specs), every image a Helm release's chart runs
from its own defaults at its version (`aifactory.bundle.images.release_images`, the list the bundle manifest is
built from) and a release's chart source. A reference passes when it pulls from an in-jurisdiction oci mirror's
host or an allowed registry. A release of a chart or version with no image data gets an advisory SOV-009
violation saying its default images cannot be judged (never a silent pass). A
validator never raises: a failure becomes a violation of its policy naming the cause, and the run goes on.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from aifactory.policy.engine import effective_level
from aifactory.policy.model import Finding, Rule
from aifactory.policy.registry import all_rules

SOURCE = "aifactory.io/source"
BLUEPRINT = "aifactory.io/blueprint"
REGION = "aifactory.io/region"
TARGET_ENV = "AIFACTORY_POLICY_TARGET"
STACK_ENV = "PULUMI_STACK"
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


def _mapping(value: Any) -> dict[str, Any]:
    try:
        return dict(value) if isinstance(value, Mapping) else {}
    except Exception:  # an unknown value during preview
        return {}


def metadata(props: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """(labels, annotations) of a rendered resource; Pulumi hands inputs back with camelCase keys. A Helm
    release has no metadata: its provenance words in `description` count as its annotations and labels."""
    meta = _mapping(props.get("metadata"))
    labels = {k: v for k, v in _mapping(meta.get("labels")).items() if isinstance(v, str)}
    annotations = {k: v for k, v in _mapping(meta.get("annotations")).items() if isinstance(v, str)}
    description = props.get("description")
    if isinstance(description, str):
        for word in description.split():
            key, sep, value = word.partition("=")
            if sep and key.startswith("aifactory.io/") and value:
                (annotations if key == SOURCE else labels).setdefault(key, value)
    return labels, annotations


def source_of(props: Mapping[str, Any]) -> tuple[str, str] | None:
    """(file, json pointer) from the source annotation, or None."""
    _, annotations = metadata(props)
    raw = annotations.get(SOURCE)
    if not isinstance(raw, str) or "#" not in raw:
        return None
    file, _, pointer = raw.partition("#")
    return file, pointer or "/"


def _is_stack_file(file: str) -> bool:
    name = Path(file).name
    return name.startswith("Pulumi.") and name.endswith((".yaml", ".yml")) and name.count(".") >= 2


def _engine_stack() -> str | None:
    """The stack file of the stack the engine runs ($PULUMI_STACK), where the project has one."""
    name = os.environ.get(STACK_ENV, "")
    if not name:
        return None
    from aifactory.blueprint.sources import display_path
    from aifactory.blueprint.stackfile import project_stacks

    if "/" in name or "\\" in name or name in (".", ".."):
        return None
    path = project_stacks() / f"Pulumi.{name}.yaml"
    return display_path(path) if path.is_file() else None


def target_of(config: Mapping[str, Any], props: Mapping[str, Any] | None = None) -> str | None:
    src = source_of(props) if props is not None else None
    for candidate in (
        config.get("target"),
        os.environ.get(TARGET_ENV),
        _engine_stack(),
        src[0] if src and _is_stack_file(src[0]) else None,
        src[0] if src else None,
    ):
        if isinstance(candidate, str) and candidate:
            return candidate
    return None


def stack_target(config: Mapping[str, Any], resources: Sequence[Any]) -> str | None:
    """The target of a whole stack: as for one resource, a stack file named by any resource winning over the
    blueprint files the others name."""
    explicit = target_of(config)
    if explicit is not None:
        return explicit
    sources = sorted({src[0] for r in resources if (src := source_of(_props(r)))})
    stacks = [f for f in sources if _is_stack_file(f)]
    found = stacks or sources
    return found[0] if found else None


def _props(resource: Any) -> Mapping[str, Any]:
    props = getattr(resource, "props", None)
    return props if isinstance(props, Mapping) else {}


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


def _scope(pointer: str) -> str:
    """What a resource renders: its source value, or for a chart pin (`/software/charts/<name>/version`) the
    whole pin: a release is made from the chart's version, repository and image digest together."""
    parts = pointer.rstrip("/").split("/")
    if len(parts) > 4 and parts[1:3] == ["software", "charts"]:
        return "/".join(parts[:4])
    return pointer


def _covers(resource_pointer: str, finding_pointer: str) -> bool:
    a, b = _scope(resource_pointer).rstrip("/"), finding_pointer.rstrip("/")
    return a == b or b.startswith(a + "/") or a.startswith(b + "/")


def _text(f: Finding) -> str:
    return f"{f.rule} {f.title}: {f.message} ({f.location}, {f.pointer}). Fix: {f.remediation}"


def _matching(target: str, rule: Rule, enforcement: str) -> Iterator[Finding]:
    for f, taken in findings_for(target):
        if f.rule == rule.id and taken == enforcement:
            yield f


def _failure(rule: Rule, err: Exception) -> str:
    from aifactory.errors import UserError

    why = str(err) if isinstance(err, UserError) else f"{type(err).__name__}: {err}"
    return f"{rule.id} could not be checked: {why}"


def _guarded(rule: Rule, check: Callable[[Any, Report], None]) -> Callable[[Any, Report], None]:
    """`check`, with any failure turned into one violation of its policy (never an exception to the engine).
    pulumi_policy's own signals (an unknown value during preview, not applicable) pass through."""

    def validate(args: Any, report_violation: Report) -> None:
        try:
            check(args, report_violation)
        except Exception as err:
            if type(err).__name__ in ("UnknownValueError", "_NotApplicableError"):
                raise
            report_violation(_failure(rule, err))

    return validate


def _resource_validator(rule: Rule, enforcement: str) -> Callable[[Any, Report], None]:
    def validate(args: Any, report_violation: Report) -> None:
        props = _props(args)
        src = source_of(props)
        target = target_of(args.get_config() or {}, props)
        if src is None or target is None:
            return
        for f in _matching(target, rule, enforcement):
            if _covers(src[1], f.pointer):
                report_violation(_text(f))
        if rule.id != "SOV-009":
            return
        image_level = _image_enforcement(target, rule.id)
        if enforcement == image_level:
            for image in bad_images(target, props):
                report_violation(
                    f"SOV-009 image {image!r} does not come from an in-jurisdiction mirror "
                    f"(rendered from {src[0]}#{src[1]})"
                )
        release = _release(props)
        advisory = image_level != "disabled" and enforcement == "advisory"
        if release is not None and advisory and chart_images(props) is None:
            report_violation(
                f"SOV-009 the images of chart {release[0]!r} {release[1]} cannot be judged: aifactory has no "
                f"image data for this chart at this version, so only the images its values name were checked "
                f"(rendered from {src[0]}#{src[1]}). Fix: pin a version aifactory.bundle.images lists, or add "
                f"its images there"
            )

    return _guarded(rule, validate)


def _uncovered_validator(rule: Rule, enforcement: str) -> Callable[[Any, Report], None]:
    """The stack twin of a per-resource rule: the findings whose pointer no resource of the stack covers (a
    value that renders no object), so none of `policy check`'s findings goes unreported."""

    def validate(args: Any, report_violation: Report) -> None:
        resources = list(args.resources)
        target = stack_target(args.get_config() or {}, resources)
        if target is None:
            return
        pointers = [src[1] for r in resources if (src := source_of(_props(r)))]
        for f in _matching(target, rule, enforcement):
            if not any(_covers(p, f.pointer) for p in pointers):
                report_violation(_text(f), None)

    return _guarded(rule, validate)


def _stack_validator(rule: Rule, enforcement: str) -> Callable[[Any, Report], None]:
    def validate(args: Any, report_violation: Report) -> None:
        target = stack_target(args.get_config() or {}, list(args.resources))
        if target is None:
            return
        for f in _matching(target, rule, enforcement):
            report_violation(_text(f), None)

    return _guarded(rule, validate)


def _join(registry: Any, repository: str) -> str:
    return f"{registry.rstrip('/')}/{repository}" if isinstance(registry, str) and registry else repository


def _images(node: Any) -> Iterator[str]:
    """Container image references in a resource's inputs, in the shapes the renderers and charts use:
    `image: "host/repo:tag"`; `image: {registry, repository, tag}` (Helm values); `{repository, image,
    version}` (operator CRs: the image is `repository/image`)."""
    if isinstance(node, Mapping):
        image = node.get("image")
        repository = node.get("repository")
        if isinstance(image, str) and image:
            yield _join(repository, image) if isinstance(repository, str) and "/" not in image else image
        elif (
            isinstance(repository, str)
            and repository
            and "://" not in repository
            and any(k in node for k in ("tag", "version", "digest", "registry", "pullPolicy"))
        ):
            yield _join(node.get("registry"), repository)
        for key, value in node.items():
            if key == "image" and isinstance(value, str):
                continue
            yield from _images(value)
    elif isinstance(node, list | tuple):
        for item in node:
            yield from _images(item)


def image_host(image: str) -> str:
    """The registry an image reference pulls from: its first part where that names a host (has a dot or a
    port, or is localhost), else Docker Hub as the container runtime resolves a bare name."""
    first, sep, _ = image.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return first
    return "docker.io"


def _chart_hosts(props: Mapping[str, Any]) -> Iterator[str]:
    chart = props.get("chart")
    if isinstance(chart, str) and chart.startswith("oci://"):
        yield chart.removeprefix("oci://").split("/", 1)[0]


def _release(props: Mapping[str, Any]) -> tuple[str, str, dict[str, Any]] | None:
    """(chart, version, values) of a Helm release's inputs (the only resource with a top-level `chart` and
    `version`), else None."""
    chart, version = props.get("chart"), props.get("version")
    if isinstance(chart, str) and chart and isinstance(version, str) and version:
        return chart, version, _mapping(props.get("values"))
    return None


def chart_images(props: Mapping[str, Any]) -> list[str] | None:
    """Every image a Helm release's chart runs with the release's values, its own defaults included
    (`aifactory.bundle.images.release_images`, the list the bundle manifest is built from); [] for a resource
    that is no release, None for a release of a chart or version the catalogue has no image data for."""
    from aifactory.bundle.images import release_images

    release = _release(props)
    if release is None:
        return []
    pulled = release_images(*release)
    return None if pulled is None else [ref for _, ref in pulled]


def _from_mirror(ctx: Any, host: str) -> bool:
    """Does a rendered reference pull from `host` inside the jurisdiction: an allowed registry or the host of
    an in-jurisdiction oci mirror? A rendered reference names the host it is pulled from (the renderer
    rewrites `upstream/...` to `<mirror host>/upstream/...`), so an upstream a mirror serves is still abroad."""
    from aifactory.render.k8s.context import _host

    sov = ctx.bp.site.sovereignty
    return host in sov.allowed_registries or any(
        m.kind == "oci" and ctx.inside(m.location) and host == _host(m.url) for m in sov.mirrors
    )


def bad_images(target: str, props: Mapping[str, Any]) -> list[str]:
    """Container images (and an OCI chart's registry) in `props` not pulled from an in-jurisdiction oci mirror
    or allowed registry: the references in the inputs in every shape and, for a Helm release, every image its
    chart runs from its own defaults (`chart_images`)."""
    from aifactory.policy.check import load_target
    from aifactory.policy.context import Context

    ctx = Context(load_target(target).loaded)
    charted = chart_images(props) or []
    named = [i for i in _images(props) if not any(c == i or c.startswith((i + ":", i + "@")) for c in charted)]
    out = [image for image in [*named, *charted] if not _from_mirror(ctx, image_host(image))]
    out += [f"oci://{host}" for host in _chart_hosts(props) if not _from_mirror(ctx, host)]
    return sorted(set(out))


def policies() -> list[PolicySpec]:
    """Two policies per rule, one per enforcement a finding can take: the gate's configured levels, `fail_on`,
    waivers and baseline decide which of the two reports it. The one at the rule's default level keeps the
    rule's name; its twin is suffixed `-advisory` or `-mandatory`. A per-resource rule also has a stack policy
    of each (suffix `-stack`) for the findings no resource covers."""
    specs = []
    for rule in all_rules():
        kind = "stack" if is_stack_rule(rule) else "resource"
        first = "mandatory" if rule.level == "mandatory" else "advisory"
        for level in (first, "advisory" if first == "mandatory" else "mandatory"):
            suffix = "" if level == first else f"-{level}"
            name, description = f"{rule.id.lower()}{suffix}", f"{rule.id}: {rule.title}"
            if kind == "stack":
                specs.append(PolicySpec(name, description, level, "stack", _stack_validator(rule, level)))
                continue
            specs.append(PolicySpec(name, description, level, "resource", _resource_validator(rule, level)))
            specs.append(PolicySpec(f"{name}-stack", description, level, "stack", _uncovered_validator(rule, level)))
    return specs
