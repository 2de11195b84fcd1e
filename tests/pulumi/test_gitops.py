"""The GitOps output applies in the same order as the Pulumi program: HelmRelease `dependsOn` and Flux
Kustomizations per stage with `dependsOn` between them, from the stack's one dependency graph; every folder
builds with `kubectl kustomize`."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from schemas import validate

from aifactory.blueprint import load_blueprint
from aifactory.blueprint.sources import catalogue_names
from aifactory.blueprint.stackfile import load_stack, read_stack
from aifactory.io import atomic_write_tree
from aifactory.render.k8s.context import Rendered
from aifactory.render.k8s.gitops import FLUX_DIR, flux_path, gitops_files, stage_depends_on
from aifactory.render.k8s.graph import dependency_graph, object_key, release_key, topological
from aifactory.render.kubernetes import build

KUBECTL = shutil.which("kubectl")
STACKS = ("de-stuttgart", "fi-kajaani", "us-east")


def _rendered(name: str) -> Rendered:
    if name in STACKS:
        stack = read_stack(name)
        loaded = load_stack(stack)
        return build(loaded, stack.region_of(loaded))
    loaded = load_blueprint(name)
    return build(loaded, loaded.model.site.region)


def _docs(files: dict[str, str]) -> dict[str, dict]:
    return {name: yaml.safe_load(text) for name, text in files.items() if name.endswith(".yaml")}


CASES = [*STACKS, *catalogue_names()]


@pytest.mark.parametrize("name", CASES)
def test_flux_order_follows_the_graph(name: str) -> None:
    rendered = _rendered(name)
    graph = dependency_graph(rendered)
    docs = _docs(gitops_files(rendered))
    stage_of = {}
    for path, doc in docs.items():
        stage = path.split("/", 1)[0]
        if stage == FLUX_DIR or path.endswith("kustomization.yaml"):
            continue
        if doc["kind"] == "HelmRelease":
            release = next(r for r in rendered.releases if r.name == doc["metadata"]["name"])
            stage_of[release_key(release)] = stage
            expected = [{"name": r.name, "namespace": r.namespace} for r in rendered.releases
                        if release_key(r) in graph.deps[release_key(release)]]
            assert expected == doc["spec"].get("dependsOn", []), path
        elif doc["kind"] != "HelmRepository":
            stage_of[object_key(doc)] = stage
    # Every graph edge across stages is a Flux Kustomization dependsOn; nothing else is.
    flux = {doc["metadata"]["name"].removeprefix("aifactory-"): doc for p, doc in docs.items()
            if p.startswith(f"{FLUX_DIR}/")}
    edges = {(stage_of[n], stage_of[d]) for n, ds in graph.deps.items() if n in stage_of
             for d in ds if d in stage_of and stage_of[d] != stage_of[n]}
    declared = {(s, d["name"].removeprefix("aifactory-")) for s, k in flux.items()
                for d in k["spec"].get("dependsOn", [])}
    assert edges == declared
    topological({s: tuple(d for t, d in declared if t == s) for s in flux})  # no cycle among stages
    for node, owner in graph.owner.items():  # custom resources: after their CRD's release, alone with its peers
        assert stage_of[node] == f"crs-{owner.rpartition('/')[2]}"
        assert (stage_of[node], stage_of[owner]) in declared
    root = docs["kustomization.yaml"]["resources"]
    assert sorted(f"{FLUX_DIR}/{s}.yaml" for s in flux) == root
    for doc in flux.values():
        validate(doc, "1.34")
        assert doc["spec"]["wait"] is True
        assert doc["spec"]["path"] == f"./kubernetes/{doc['metadata']['name'].removeprefix('aifactory-')}"


def test_stages_on_a_gpu_stack() -> None:
    depends = stage_depends_on(_rendered("us-east"))
    assert ["release-gpu-operator"] == depends["crs-gpu-operator"]  # a cluster-scoped CR: its release only
    assert {"crs-gpu-operator", "release-kube-prometheus-stack"} <= set(depends["release-dcgm-exporter"])
    assert "release-kserve-crd" in depends["release-kserve-resources"]
    assert "release-gpu-operator" in depends["release-network-operator"]
    assert ["base", "release-kueue"] == depends["crs-kueue"]  # not every release


@pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")
@pytest.mark.parametrize("name", CASES)
def test_kubectl_kustomize_builds_every_folder(tmp_path: Path, name: str) -> None:
    files = gitops_files(_rendered(name))
    atomic_write_tree(tmp_path / "kubernetes", files)
    folders = sorted({(tmp_path / "kubernetes" / f).parent for f in files if f.endswith("kustomization.yaml")})
    assert folders
    for folder in folders:
        done = subprocess.run([str(KUBECTL), "kustomize", str(folder)], capture_output=True, text=True,
                              timeout=60, check=False)
        assert 0 == done.returncode, (folder, done.stderr)
        built = [d for d in yaml.safe_load_all(done.stdout) if d]
        listed = yaml.safe_load((folder / "kustomization.yaml").read_text())["resources"]
        assert len(listed) == len(built)


def test_flux_path_is_relative_to_the_git_checkout(tmp_path: Path) -> None:
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    assert "./clusters/de/kubernetes" == flux_path(tmp_path / "repo" / "clusters" / "de" / "kubernetes")
    assert "./kubernetes" == flux_path(tmp_path / "loose" / "kubernetes")
