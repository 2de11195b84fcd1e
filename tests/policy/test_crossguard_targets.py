"""Which design the CrossGuard pack judges, what it reads from a resource, and that it never raises."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from aifactory.blueprint.stackfile import STACKS, stack_names
from aifactory.policy import crossguard
from aifactory.policy.crossguard import (
    bad_images,
    chart_images,
    image_host,
    metadata,
    policies,
    source_of,
    target_of,
)
from tests.policy.conftest import ROOT


class _Args:
    def __init__(self, props: dict[str, Any], config: dict[str, Any] | None = None) -> None:
        self.props, self._config = props, config or {}

    def get_config(self) -> dict[str, Any]:
        return self._config


@pytest.fixture(autouse=True)
def _at_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("PULUMI_STACK", raising=False)
    monkeypatch.delenv(crossguard.TARGET_ENV, raising=False)
    crossguard.findings_for.cache_clear()


def _object(source: str) -> dict[str, Any]:
    labels = {"aifactory.io/blueprint": "site-custom"}
    return {"metadata": {"labels": labels, "annotations": {"aifactory.io/source": source}}}


def test_a_release_is_judged_by_its_description() -> None:
    release = {"description": "aifactory.io/region=us-east aifactory.io/blueprint=b "
               "aifactory.io/source=stacks/Pulumi.us-east.yaml#/software/charts/kserve/version"}  # fmt: skip
    labels, _ = metadata(release)
    assert "us-east" == labels["aifactory.io/region"]
    assert ("stacks/Pulumi.us-east.yaml", "/software/charts/kserve/version") == source_of(release)


def test_the_engines_stack_wins_over_the_blueprint_file(monkeypatch: pytest.MonkeyPatch) -> None:
    props = _object("blueprints/dgx-h100-superpod.yaml#/software/charts/kserve")
    assert "blueprints/dgx-h100-superpod.yaml" == target_of({}, props)  # no stack known: the source file
    monkeypatch.setenv("PULUMI_STACK", "us-east")
    assert "stacks/Pulumi.us-east.yaml" == target_of({}, props)
    monkeypatch.setenv("PULUMI_STACK", "no-such-stack")
    assert "blueprints/dgx-h100-superpod.yaml" == target_of({}, props)


def test_a_custom_blueprint_is_checked_by_its_path(tmp_path: Path) -> None:
    custom = tmp_path / "site-custom.yaml"
    custom.write_text("extends: dgx-h200-sovereign-eu\nname: site-custom\nsite:\n  sovereignty:\n"
                      "    vendor_telemetry: true\n")  # fmt: skip
    specs = {s.name: s for s in policies()}
    seen: list[str] = []
    # The label names the blueprint `site-custom`, which is no catalogue entry: the source file is the design.
    specs["sov-010"].validate(_Args(_object(f"{custom}#/site/sovereignty")), lambda m, urn=None: seen.append(m))
    assert 1 == len(seen) and seen[0].startswith("SOV-010") and "site-custom.yaml:5" in seen[0]


def test_a_failing_rule_becomes_a_violation() -> None:
    specs = {s.name: s for s in policies()}
    seen: list[str] = []
    specs["sov-010"].validate(_Args(_object("nowhere/gone.yaml#/site")), lambda m, urn=None: seen.append(m))
    assert 1 == len(seen) and seen[0].startswith("SOV-010 could not be checked") and "gone.yaml" in seen[0]
    stack = type("S", (), {"resources": [_Args(_object("nowhere/gone.yaml#/site"))], "get_config": lambda s: {}})()
    seen.clear()
    specs["pwr-001"].validate(stack, lambda m, urn=None: seen.append(m))
    assert 1 == len(seen) and "could not be checked" in seen[0]


def test_every_resource_rule_has_a_stack_twin() -> None:
    specs = {s.name: s for s in policies()}
    for name, spec in specs.items():
        if spec.kind == "resource":
            assert "stack" == specs[f"{name}-stack"].kind and spec.enforcement == specs[f"{name}-stack"].enforcement


@pytest.mark.parametrize(
    ("ref", "host"),
    [("nginx:1", "docker.io"), ("library/nginx", "docker.io"), ("nvcr.io/nvidia/driver:1", "nvcr.io"),
     ("registry:5000/x", "registry:5000"), ("localhost/x", "localhost")],
)  # fmt: skip
def test_image_hosts(ref: str, host: str) -> None:
    assert host == image_host(ref)


def test_images_in_every_shape_are_judged() -> None:
    target = "blueprints/dgx-h200-sovereign-eu.yaml"  # mirrors nvcr.io, registry.k8s.io, quay.io, docker.io, ghcr.io
    props = {
        "spec": {
            # operator CR: repository + bare image name, pulled from the mirror (fine, not docker.io/driver)
            "driver": {"repository": "registry.aifactory.example.de/nvcr.io/nvidia", "image": "driver", "version": "5"},
            # an upstream the mirror serves, named as such, is pulled from the upstream: abroad
            "upstream": {"repository": "nvcr.io/nvidia", "image": "driver", "version": "580"},
            "toolkit": {"repository": "evil.example.com/k8s", "image": "toolkit", "version": "1"},
            "containers": [{"image": "evil.example.com/app:1"}],
        },
        "values": {
            "exporter": {"image": {"repository": "evil.example.com/dcgm", "tag": "4"}},
            "manager": {"image": {"registry": "evil.example.com", "repository": "kueue/manager", "tag": "1"}},
            "grafana": {"image": {"repository": "grafana/grafana", "tag": "11"}},  # docker.io itself
            "mirrored": {"image": {"registry": "registry.aifactory.example.de/docker.io", "repository": "a/b"}},
        },
        "chart": "oci://evil.example.com/charts/thing",
    }
    assert [
        "evil.example.com/app:1",
        "evil.example.com/dcgm",
        "evil.example.com/k8s/toolkit",
        "evil.example.com/kueue/manager",
        "grafana/grafana",
        "nvcr.io/nvidia/driver",
        "oci://evil.example.com",
    ] == bad_images(target, props)


def _releases(stack: str) -> dict[str, dict[str, Any]]:
    """The stack's Helm releases as the pack sees their inputs (chart, version, values)."""
    from aifactory.policy.check import load_target
    from aifactory.render.kubernetes import build

    rendered = build(load_target(f"stacks/Pulumi.{stack}.yaml").loaded, stack)
    return {r.chart: {"chart": r.chart, "version": r.version, "values": r.values} for r in rendered.releases}


@pytest.mark.parametrize("stack", stack_names(STACKS))
def test_every_reference_release_has_image_data_and_a_sovereign_one_is_clean(stack: str) -> None:
    releases = _releases(stack)
    assert releases and all(chart_images(props) for props in releases.values() if props["chart"] != "kserve-crd")
    if crossguard._image_enforcement(f"stacks/Pulumi.{stack}.yaml", "SOV-009") == "mandatory":
        assert {} == {c: bad for c, p in releases.items() if (bad := bad_images(f"stacks/Pulumi.{stack}.yaml", p))}


def test_a_chart_default_image_left_unmirrored_is_flagged() -> None:
    target = "stacks/Pulumi.de-stuttgart.yaml"
    releases = _releases("de-stuttgart")
    cert_manager, kps = releases["cert-manager"], releases["kube-prometheus-stack"]
    del cert_manager["values"]["imageRegistry"]  # every image falls back on the chart's quay.io default
    del kps["values"]["grafana"]["image"]
    assert 5 == len(bad_images(target, cert_manager))
    assert "quay.io/jetstack/cert-manager-webhook:v1.21.1" in bad_images(target, cert_manager)
    assert ["docker.io/grafana/grafana:13.2.0"] == bad_images(target, kps)


def test_a_release_without_image_data_is_an_advisory_not_a_pass() -> None:
    source = "aifactory.io/source=stacks/Pulumi.de-stuttgart.yaml#/software/charts/mlflow/version"
    props = {**_releases("de-stuttgart")["mlflow"], "version": "0.0.1", "description": source}
    assert chart_images(props) is None
    seen: dict[str, list[str]] = {}
    for spec in policies():
        if spec.name.startswith("sov-009") and spec.kind == "resource":
            spec.validate(_Args(props), lambda m, urn=None, n=spec.name: seen.setdefault(n, []).append(m))
    advisory = [n for n, msgs in seen.items() for m in msgs if "cannot be judged" in m]
    assert ["sov-009-advisory"] == advisory, seen
