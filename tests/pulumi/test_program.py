"""The Pulumi program under mocks, for every reference blueprint in every region stack."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mocks import Recorder, run_stack

from aifactory.blueprint.sources import catalogue_names
from aifactory.blueprint.stackfile import STACKS, read_stack
from aifactory.deploy.pulumi import GateFinding, PolicyGateError, prepare
from aifactory.errors import Location
from aifactory.render.group_vars import render_blueprint_inventory
from aifactory.render.kubernetes import has_kubernetes
from modules.compute.nodegroups.groups import node_groups

REGIONS = ("de-stuttgart", "fi-kajaani", "us-east")
K8S = "kubernetes:"


def _stack_dir(tmp_path: Path, blueprint: str, region: str) -> Path:
    """A stack file for `blueprint` carrying the region's real overrides (copied from stacks/)."""
    text = (STACKS / f"Pulumi.{region}.yaml").read_text()
    original = read_stack(region).blueprint
    (tmp_path / f"Pulumi.{region}.yaml").write_text(text.replace(f"blueprint: {original}", f"blueprint: {blueprint}"))
    return tmp_path


@pytest.mark.parametrize("region", REGIONS)
@pytest.mark.parametrize("blueprint", catalogue_names())
def test_every_blueprint_in_every_region(tmp_path: Path, blueprint: str, region: str) -> None:
    stacks = _stack_dir(tmp_path, blueprint, region)
    try:
        ctx = prepare(region, stacks)
    except PolicyGateError:
        # e.g. the German sovereign blueprint moved to another jurisdiction: its DE mirrors are out of place.
        recorder = Recorder()
        with pytest.raises(PolicyGateError):
            run_stack(region, stacks, recorder=recorder)
        assert [] == recorder.resources
        return
    rec = run_stack(region, stacks)
    k8s = [r for r in rec.resources if r.typ.startswith(K8S)]
    expected = len(ctx.rendered.objects) + len(ctx.rendered.releases) + len(ctx.rendered.secrets)
    assert expected == len(k8s)
    groups = node_groups(ctx.loaded.model, ctx.hosts)
    converged = rec.of_type("pulumi-python:dynamic:Resource")
    # The SDK registers resources as their inputs resolve: the groups' order is not the program's.
    assert sorted(g.limit for g in groups) == sorted(r.inputs["limit"] for r in converged)
    assert len(ctx.hosts) == sum(len(r.inputs["hosts"]) for r in converged)
    # The one inventory `aifactory deploy --render-inventory` writes, in every group.
    rendered = render_blueprint_inventory(ctx.loaded.model, ctx.hosts)
    assert all(rendered == r.inputs["inventory"] for r in converged)
    assert ["aifactory:compute:NodeGroups"] == [r.typ for r in rec.resources if r.typ.startswith("aifactory:compute")]
    if not has_kubernetes(ctx.loaded.model):
        assert [] == k8s
        return
    for res in k8s:
        meta = res.inputs.get("metadata")
        if meta is None:  # a Helm release: provenance in its description
            assert f"aifactory.io/region={region}" in res.inputs["description"]
            continue
        assert region == meta["labels"]["aifactory.io/region"]
        assert ctx.loaded.model.name == meta["labels"]["aifactory.io/blueprint"]
        assert "#/" in meta["annotations"]["aifactory.io/source"]


def _gpu_quota(rec, resource: str) -> int:
    return sum(
        int(r.inputs["spec"]["hard"][f"requests.{resource}"]) for r in rec.of_type(K8S + "core/v1:ResourceQuota")
    )


@pytest.mark.parametrize("region", REGIONS)
def test_region_stacks(region: str) -> None:
    ctx = prepare(region)
    rec = run_stack(region, STACKS)
    bp = ctx.loaded.model
    gpus = sum(t.gpus for t in bp.mlops.tenants)
    resource = "amd.com/gpu" if bp.compute.node_sku.startswith("mi300x") else "nvidia.com/gpu"
    assert gpus == _gpu_quota(rec, resource)
    queues = rec.of_type(K8S + "kueue.x-k8s.io/v1beta2:ClusterQueue")
    if bp.mlops.components.kueue:
        nominal = [
            r["nominalQuota"]
            for q in queues
            for f in q.inputs["spec"]["resourceGroups"][0]["flavors"]
            for r in f["resources"]
            if r["name"] == resource
        ]
        assert gpus == sum(int(n) for n in nominal)  # mocks hand numbers back as floats
    else:
        assert [] == queues
    policies = rec.of_type(K8S + "nvidia.com/v1:ClusterPolicy")
    if bp.mlops.components.gpu_operator and resource == "nvidia.com/gpu":
        assert [bp.software.driver] == [p.inputs["spec"]["driver"]["version"] for p in policies]
    charts = {r.inputs["name"]: r.inputs["version"] for r in rec.of_type(K8S + "helm.sh/v3:Release")}
    for name, version in charts.items():
        pin = "kserve" if name.startswith("kserve") else {"gpu-operator-charts": "amd-gpu-operator"}.get(name, name)
        assert bp.software.charts[pin].version == version


def _strings_under(value, keys=("image", "repository", "repo", "chart", "imageRegistry", "registry", "image_registry")):
    if isinstance(value, dict):
        for k, v in value.items():
            if k == "repository" and "registry" in value:
                continue  # a chart that builds `{registry}/{repository}`: the registry is the source
            if k in keys and isinstance(v, str) and v:
                yield v
            yield from _strings_under(v, keys)
    elif isinstance(value, list):
        for v in value:
            yield from _strings_under(v, keys)


def test_sovereign_stack_pulls_only_from_the_mirror() -> None:
    ctx = prepare("de-stuttgart")
    rec = run_stack("de-stuttgart", STACKS)
    allowed = tuple(ctx.loaded.model.site.sovereignty.allowed_registries)
    refs = [s for r in rec.resources if r.typ.startswith(K8S) for s in _strings_under(r.inputs)]
    refs = [s for s in refs if "/" in s or "." in s]  # names like `gpu-operator` are chart names, not sources
    assert len(refs) > 20
    outside = [s for s in refs if not s.removeprefix("oci://").removeprefix("https://").startswith(allowed)]
    assert [] == outside
    mlflow = next(r for r in rec.of_type(K8S + "helm.sh/v3:Release") if r.inputs["name"] == "mlflow")
    assert "true" == mlflow.inputs["values"]["extraEnvVars"]["MLFLOW_DISABLE_TELEMETRY"]


def test_non_sovereign_stack_keeps_upstream_registries() -> None:
    rec = run_stack("fi-kajaani", STACKS)
    repos = {r.inputs["name"]: r.inputs["repositoryOpts"]["repo"] for r in rec.of_type(K8S + "helm.sh/v3:Release")}
    assert "https://volcano-sh.github.io/helm-charts" == repos["volcano"]


def test_policy_gate_stops_before_any_resource() -> None:
    def gate(loaded, plan):
        return [
            GateFinding(
                "SOV-001",
                "telemetry leaves the jurisdiction",
                loaded.locate("site", "sovereignty"),
                "set vendor_telemetry: false",
            )
        ]

    recorder = Recorder()
    with pytest.raises(PolicyGateError) as err:
        run_stack("us-east", STACKS, gate, recorder)
    assert [] == recorder.resources
    assert "SOV-001" in err.value.format_message()
    assert "stopped before creating any resource" in err.value.format_message()


def test_gate_without_findings_lets_the_stack_through() -> None:
    rec = run_stack("us-east", STACKS, lambda loaded, plan: [])
    assert rec.resources


def test_stack_override_errors_point_at_the_stack_file(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.bad.yaml").write_text(
        "config:\n  aifactory:blueprint: dgx-h100-superpod\n  aifactory:region: bad\n"
        "  aifactory:overrides:\n    site: {jurisdiction: Germany}\n"
    )
    with pytest.raises(Exception) as err:
        prepare("bad", tmp_path)
    assert "Pulumi.bad.yaml:5" in str(err.value)


def test_source_annotation_names_the_stack_file_for_overridden_values() -> None:
    ctx = prepare("de-stuttgart")
    location = ctx.loaded.locate("site", "region")
    assert Location is type(location)
    assert location.file.endswith("Pulumi.de-stuttgart.yaml")


def test_unknown_stack_lists_valid_ones() -> None:
    with pytest.raises(Exception) as err:
        prepare("mars-1")
    assert "de-stuttgart, fi-kajaani, us-east" in str(err.value)


def test_outputs_are_json_serialisable() -> None:
    ctx = prepare("us-east")
    assert json.dumps([o for o in ctx.rendered.objects], sort_keys=True)
