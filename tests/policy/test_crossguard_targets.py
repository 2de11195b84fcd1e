"""Which design the CrossGuard pack judges, what it reads from a resource, and that it never raises."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from aifactory.policy import crossguard
from aifactory.policy.crossguard import bad_images, image_host, metadata, policies, source_of, target_of
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
            # operator CR: repository + bare image name (a mirrored upstream: fine, not docker.io/driver)
            "driver": {"repository": "nvcr.io/nvidia", "image": "driver", "version": "580"},
            "toolkit": {"repository": "evil.example.com/k8s", "image": "toolkit", "version": "1"},
            "containers": [{"image": "evil.example.com/app:1"}],
        },
        "values": {
            "exporter": {"image": {"repository": "evil.example.com/dcgm", "tag": "4"}},
            "manager": {"image": {"registry": "evil.example.com", "repository": "kueue/manager", "tag": "1"}},
            "grafana": {"image": {"repository": "grafana/grafana", "tag": "11"}},  # docker.io: mirrored
        },
        "chart": "oci://evil.example.com/charts/thing",
    }
    assert [
        "evil.example.com/app:1",
        "evil.example.com/dcgm",
        "evil.example.com/k8s/toolkit",
        "evil.example.com/kueue/manager",
        "oci://evil.example.com",
    ] == bad_images(target, props)
