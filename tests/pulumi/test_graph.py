"""The Kubernetes layer's dependency graph, for every reference blueprint in every region stack: each custom
resource waits for the release that installs its CRD and for no other release, releases wait for the releases
whose CRDs their charts use, nothing waits in a cycle, and the Pulumi program gives every resource exactly
the graph's dependencies (recorded from the engine's registration requests under mocks)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from mocks import run_stack

from aifactory.blueprint.sources import catalogue_names
from aifactory.blueprint.stackfile import STACKS, read_stack
from aifactory.deploy.pulumi import PolicyGateError, prepare
from aifactory.errors import UserError
from aifactory.modules import StackContext, discover
from aifactory.render.k8s.context import Rendered, layer_of
from aifactory.render.k8s.graph import (
    OPERAND_CRDS,
    Graph,
    dependency_graph,
    group_kind,
    is_custom,
    object_key,
    release_key,
    secret_key,
    topological,
)
from aifactory.render.k8s.pulumi_resources import resource_name

REGIONS = ("de-stuttgart", "fi-kajaani", "us-east")
BLUEPRINTS = catalogue_names()


def _stack_dir(tmp_path: Path, blueprint: str, region: str) -> Path:
    text = (STACKS / f"Pulumi.{region}.yaml").read_text()
    original = read_stack(region).blueprint
    (tmp_path / f"Pulumi.{region}.yaml").write_text(text.replace(f"blueprint: {original}", f"blueprint: {blueprint}"))
    return tmp_path


def _prepared(tmp_path: Path, blueprint: str, region: str) -> tuple[Path, StackContext]:
    stacks = _stack_dir(tmp_path, blueprint, region)
    try:
        return stacks, prepare(region, stacks)
    except PolicyGateError:
        pytest.skip("the policy gate stops this blueprint in this region (test_program checks that)")


def _check_graph(rendered: Rendered, graph: Graph) -> None:
    releases = {release_key(r): r for r in rendered.releases}
    objects = {object_key(o): o for o in rendered.objects}
    position = {node: i for i, node in enumerate(graph.order)}
    assert len(position) == len(graph.deps)
    for node, deps in graph.deps.items():
        assert all(position[d] < position[node] for d in deps), node  # acyclic, in creation order
    for obj in rendered.objects:
        key = object_key(obj)
        waits_for = {d for d in graph.deps[key] if d in releases}
        if is_custom(obj) and graph.owner[key] not in releases:
            # An operand CRD (the network operator installs IPPool's for a NicClusterPolicy with nvIpam): the
            # CR waits for that object, which itself waits for its own release, and for no release.
            owner = graph.owner[key]
            operand = OPERAND_CRDS[group_kind(objects[owner])]
            assert group_kind(obj) in operand(objects[owner]), key
            assert owner in graph.deps[key] and not waits_for, key
        elif is_custom(obj):
            owner = graph.owner[key]
            assert group_kind(obj) in releases[owner].provides_crds
            assert {owner} == waits_for, key  # its CRD's release and no other
        elif obj["kind"] == "StorageClass":  # the release that installs its provisioner, if one does
            drivers = {k for k, r in releases.items() if obj["provisioner"] in r.provides_csi}
            assert drivers == waits_for, key
        else:  # a claim of a class a chart renders (vastcsi) waits for that chart; nothing else for a release
            spec = obj.get("spec", {})
            claimed = {spec.get("storageClassName")} | {
                t["spec"].get("storageClassName") for t in spec.get("volumeClaimTemplates", [])
            }
            charts = {k for k, r in releases.items() if claimed & set(r.provides_classes)}
            assert charts == waits_for, key
        namespace = obj["metadata"].get("namespace")
        if namespace is not None and any(o["kind"] == "Namespace" and o["metadata"]["name"] == namespace
                                         for o in rendered.objects):
            assert f"Namespace//{namespace}" in graph.deps[key]


def _release_deps(graph: Graph, name: str) -> set[str]:
    key = next(k for k in graph.releases() if k.endswith(f"/{name}"))
    return {d.rpartition("/")[2] for d in graph.deps[key] if d.startswith("HelmRelease/")}


@pytest.mark.parametrize("region", REGIONS)
@pytest.mark.parametrize("blueprint", BLUEPRINTS)
def test_graph_of_every_stack(tmp_path: Path, blueprint: str, region: str) -> None:
    _, ctx = _prepared(tmp_path, blueprint, region)
    rendered = ctx.rendered
    graph = dependency_graph(rendered)
    _check_graph(rendered, graph)
    names = {r.name for r in rendered.releases}
    flags = ctx.loaded.model.mlops.components
    if {"dcgm-exporter", "kube-prometheus-stack"} <= names:
        assert "kube-prometheus-stack" in _release_deps(graph, "dcgm-exporter")  # its ServiceMonitor
    if "kserve-resources" in names:
        assert "kserve-crd" in _release_deps(graph, "kserve-resources")
        assert "cert-manager" in _release_deps(graph, "kserve-resources")  # its webhook's Certificate, Issuer
    if "network-operator" in names and flags.gpu_operator:
        assert "gpu-operator" in _release_deps(graph, "network-operator")  # NFD's CRDs
    if "dcgm-exporter" in names and flags.gpu_operator:
        dcgm = next(k for k in graph.releases() if k.endswith("/dcgm-exporter"))
        assert "ClusterPolicy//cluster-policy" in graph.deps[dcgm]  # after the toolkit, never the reverse
        assert all("dcgm" not in d for d in graph.deps["ClusterPolicy//cluster-policy"])


def _expected_names(ctx: StackContext, graph: Graph) -> dict[str, str]:
    """Graph node -> the Pulumi resource name the program gives it (`<region>-<module>-...`)."""
    modules = {spec.layer: spec.name for spec in discover().ordered()}
    rendered = ctx.rendered
    out = {}
    for obj in rendered.objects:
        out[object_key(obj)] = resource_name(f"{ctx.region}-{modules[layer_of(obj)]}", obj)
    for r in rendered.releases:
        out[release_key(r)] = f"{ctx.region}-{modules[r.layer]}-release-{r.name}"
    for s in rendered.secrets:
        out[secret_key(s)] = f"{ctx.region}-{modules[s.layer]}-secret-{s.namespace}-{s.name}"
    assert set(graph.deps) == set(out)
    return out


@pytest.mark.parametrize("region", REGIONS)
@pytest.mark.parametrize("blueprint", BLUEPRINTS)
def test_program_gives_each_resource_exactly_the_graph_dependencies(tmp_path: Path, blueprint: str,
                                                                    region: str) -> None:
    stacks, ctx = _prepared(tmp_path, blueprint, region)
    rec = run_stack(region, stacks)
    graph = dependency_graph(ctx.rendered)
    names = _expected_names(ctx, graph)
    kubernetes = [r for r in rec.resources if r.typ.startswith("kubernetes:")]
    assert sorted(names.values()) == sorted(r.name for r in kubernetes)
    for node, name in names.items():
        assert {names[d] for d in graph.deps[node]} == rec.depends_on(name), node
    # The Kubernetes layer components wait for the compute layer (its node groups), not for each other.
    layers = [r for r in rec.resources if r.typ.startswith("aifactory:") and not r.typ.startswith("aifactory:compute")]
    groups = {r.name for r in rec.of_type("pulumi-python:dynamic:Resource")}
    assert groups and all(groups == rec.depends_on(r.name) for r in layers)


def _custom(kind: str, name: str, source: str = "stacks/Pulumi.x.yaml#/mlops/components") -> dict[str, Any]:
    return {"apiVersion": "example.com/v1", "kind": kind,
            "metadata": {"name": name, "labels": {"aifactory.io/layer": "mlops"},
                         "annotations": {"aifactory.io/source": source}}}


def test_a_custom_resource_no_chart_installs_is_refused_at_its_source() -> None:
    with pytest.raises(UserError) as err:
        dependency_graph(Rendered(objects=[_custom("Widget", "w")]))
    text = str(err.value)
    assert "Widget 'w'" in text and "stacks/Pulumi.x.yaml" in text and "mlops.components" in text


def test_a_cycle_is_reported() -> None:
    with pytest.raises(ValueError, match="cycle among a, b"):
        topological({"a": ("b",), "b": ("a",), "c": ()})
    assert ("c", "b", "a") == topological({"a": ("b",), "b": ("c",), "c": ()})


def test_a_user_module_after_the_layers_waits_for_all_of_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "mods" / "mlops" / "extra"
    folder.mkdir(parents=True)
    (folder / "module.yaml").write_text(
        "name: mlops-extra\nlayer: mlops\ntype: acme:mlops:Extra\nentry: component:Extra\n"
        "args: component:ExtraArgs\norder: 90\n"
    )
    (folder / "component.py").write_text(
        "import pulumi\n\n\nclass ExtraArgs:\n    @classmethod\n    def from_stack(cls, stack):\n"
        "        return cls()\n\n\n"
        "class Extra(pulumi.ComponentResource):\n    def __init__(self, name, args, opts=None):\n"
        "        super().__init__('acme:mlops:Extra', name, None, opts)\n        self.register_outputs({})\n"
    )
    monkeypatch.setenv("AIFACTORY_MODULES", str(tmp_path / "mods"))
    rec = run_stack("us-east", STACKS)
    waits = rec.depends_on("us-east-mlops-extra")
    kubernetes = {r.name for r in rec.resources if r.typ.startswith("kubernetes:")}
    groups = {r.name for r in rec.of_type("pulumi-python:dynamic:Resource")}
    assert kubernetes | groups == waits
