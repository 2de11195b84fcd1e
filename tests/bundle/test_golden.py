"""Golden bundle manifests: every reference blueprint, and every region's stack (`AIFACTORY_REGEN=1` rewrites
them; review the diff). Packages unresolved (`--no-resolve`, the default: apt's answer depends on the day's
Debian index), so the files change only when the design, the roles, the lock or the pinned images do."""

from __future__ import annotations

from pathlib import Path

import pytest

from aifactory.blueprint import load_blueprint
from aifactory.blueprint.stackfile import load_stack, read_stack
from aifactory.bundle.manifest import bundle_manifest, design_packages, load_manifest
from aifactory.io import dumps_json
from tests.conftest import REFERENCE_BLUEPRINTS, REPO, golden_file

GOLDEN = Path(__file__).parent / "golden"
STACKS = sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in (REPO / "stacks").glob("Pulumi.*.yaml"))


@pytest.mark.parametrize("name", REFERENCE_BLUEPRINTS)
def test_golden_blueprint_manifest(name: str) -> None:
    loaded = load_blueprint(name)
    text = dumps_json(bundle_manifest(loaded, loaded.model.site.region, design_packages(loaded)))
    assert golden_file(GOLDEN / f"{name}.json", text) == text


@pytest.mark.parametrize("stack", STACKS)
def test_golden_stack_manifest(stack: str) -> None:
    stack_file = read_stack(stack, REPO / "stacks")
    loaded = load_stack(stack_file)
    doc = bundle_manifest(loaded, stack_file.region_of(loaded), design_packages(loaded), stack_file.name)
    text = dumps_json(doc)
    assert golden_file(GOLDEN / f"stack-{stack}.json", text) == text


def test_goldens_load_and_follow_the_contract() -> None:
    """The shape the evidence report reads: schema, kinds, source and mirror on every entry, sorted."""
    for path in sorted(GOLDEN.glob("*.json")):
        doc = load_manifest(path)
        for artifact in doc["artifacts"]:
            assert {"kind", "name", "version", "source", "mirror"} <= set(artifact), (path.name, artifact)
            assert ("digest" if artifact["kind"] == "image" else "sha256") in artifact, (path.name, artifact)
        keys = [(a["kind"], a["name"], str(a["version"])) for a in doc["artifacts"]]
        assert len(set(keys)) == len(keys), path.name


def test_sovereign_stack_names_a_mirror_for_everything() -> None:
    """On the sovereign stack each image, chart and package has an in-jurisdiction mirror; the images are the
    mirror's path of the upstream reference, as the rendered objects pull them."""
    doc = load_manifest(GOLDEN / "stack-de-stuttgart.json")
    assert [] == [a["name"] for a in doc["artifacts"] if not a["mirror"]]
    for image in (a for a in doc["artifacts"] if a["kind"] == "image"):
        assert f"registry.aifactory.example.de/{image['source']}" == image["mirror"]
    locations = {m["location"] for m in doc["mirrors"]}
    assert {"DE"} == locations


def test_images_cover_the_rendered_operands() -> None:
    """Every operand the ClusterPolicy runs and every chart image with a pinned tag is in the manifest."""
    doc = load_manifest(GOLDEN / "dgx-h100-superpod.json")
    images = {a["source"] for a in doc["artifacts"] if a["kind"] == "image"}
    assert {"nvcr.io/nvidia/gpu-operator:v26.7.0", "nvcr.io/nvidia/k8s-device-plugin:v0.20.0",
            "registry.k8s.io/kueue/kueue:v0.19.2", "quay.io/prometheus/prometheus:v3.14.0-distroless",
            "quay.io/brancz/kube-rbac-proxy:v0.18.0"} <= images  # fmt: skip
    assert not [i for i in images if ":" not in i.rsplit("/", 1)[-1]], "every image carries a tag"
