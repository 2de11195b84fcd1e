"""GitOps output: one YAML file per object, Helm releases as Flux `HelmRelease` + `HelmRepository` objects,
applied in the order the stack's dependency graph (render/k8s/graph.py) gives, the same graph the Pulumi
program's `depends_on` come from:

    kustomization.yaml              lists only flux/*.yaml: point the cluster's Flux at this folder
    flux/<stage>.yaml               one Flux Kustomization per stage, `dependsOn` the stages it waits for
    <stage>/kustomization.yaml      the stage's objects (kustomize builds each folder on its own)
    <stage>/<layer>/<kind>_<namespace>_<name>.yaml

Stages: `base` (namespaces, chart repositories, objects that need no CRD), `release-<name>` (one HelmRelease,
with `spec.dependsOn` the releases whose CRDs its chart uses), `crs-<release>` (the custom resources whose
CRDs that release installs, after it and nothing else). `wait: true` on every stage makes "after" mean
"after it is ready". The Flux Kustomizations read the `flux-system` GitRepository (what `flux bootstrap`
creates); their paths are relative to its root (`gitops_files(path=...)`).

No Secret is written: a GitOps repository must hold no credential. The objects refer to their Secrets by name
(`minio-root`, `grafana-admin`), and `secrets-required.json` (not a manifest, so not in the kustomization) lists
each one the platform must provide, its namespace and keys, and the secret-store key the Pulumi program would
read its value from; never a value.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from aifactory.io import dumps_json
from aifactory.render.k8s.context import LABEL_BLUEPRINT, LABEL_REGION, ChartRelease, Manifest, Rendered, layer_of
from aifactory.render.k8s.graph import Graph, dependency_graph, object_key, release_key

FLUX_NS = "flux-system"
INTERVAL = "30m"


def _dump(obj: Any) -> str:
    return yaml.safe_dump(obj, sort_keys=True, default_flow_style=False, allow_unicode=True, width=120)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def repository_name(release: ChartRelease) -> str:
    return _slug(release.repository.split("://", 1)[-1])[:63].strip("-")


def flux_objects(release: ChartRelease) -> list[Manifest]:
    """The HelmRepository the chart comes from and the HelmRelease that installs it at the pinned version."""
    meta = release.metadata
    repo_spec: dict[str, Any] = {"url": release.repository, "interval": INTERVAL}
    if release.repository.startswith("oci://"):
        repo_spec["type"] = "oci"
    repo = {
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "HelmRepository",
        "metadata": {**meta, "name": repository_name(release), "namespace": FLUX_NS},
        "spec": repo_spec,
    }
    spec: dict[str, Any] = {
        "interval": INTERVAL,
        "releaseName": release.name,
        "chart": {
            "spec": {
                "chart": release.chart,
                "version": release.version,
                "sourceRef": {
                    "kind": "HelmRepository",
                    "name": repository_name(release),
                    "namespace": FLUX_NS,
                },
            }
        },
        "install": {"crds": "CreateReplace"},
        "upgrade": {"crds": "CreateReplace"},
    }
    if release.values:
        spec["values"] = release.values
    hr = {
        "apiVersion": "helm.toolkit.fluxcd.io/v2",
        "kind": "HelmRelease",
        "metadata": dict(meta),
        "spec": spec,
    }
    return [repo, hr]


def helm_release_depends_on(release: ChartRelease, graph: Graph, releases: dict[str, ChartRelease]) -> list[Manifest]:
    """HelmRelease `spec.dependsOn`: the releases the graph makes this one wait for (their CRDs, in order)."""
    deps = [releases[d] for d in graph.deps[release_key(release)] if d in releases]
    return [{"name": d.name, "namespace": d.namespace} for d in deps]


def _helm_release(release: ChartRelease, graph: Graph, releases: dict[str, ChartRelease]) -> tuple[Manifest, Manifest]:
    repo, hr = flux_objects(release)
    depends = helm_release_depends_on(release, graph, releases)
    if depends:
        hr["spec"]["dependsOn"] = depends
    return repo, hr


def gitops_objects(rendered: Rendered) -> list[Manifest]:
    """Everything `render --kubernetes` writes but its Flux Kustomizations: the plain objects plus the Flux
    source and release objects (repositories once), HelmReleases carrying their `dependsOn`."""
    return [obj for stage in staged(rendered).values() for obj in stage]


BASE = "base"  # namespaces, chart repositories and the objects that need no custom resource definition
FLUX_DIR = "flux"  # the Flux Kustomizations, one per stage; the root kustomization.yaml lists only them


def stage_of(node: str, graph: Graph, stages: dict[str, str]) -> str:
    """The stage (its own folder and Flux Kustomization) a graph node is applied in: a release alone in
    `release-<name>`, the custom resources of one CRD owner together in `crs-<owner>`, other objects in
    `base` unless they wait for something outside it."""
    kind = graph.kinds[node]
    if kind == "release":
        return f"release-{node.rpartition('/')[2]}"
    if node in graph.owner:
        return f"crs-{graph.owner[node].rpartition('/')[2]}"
    later = sorted({stages[d] for d in graph.deps[node] if graph.kinds[d] != "secret"} - {BASE})
    return BASE if not later else f"after-{later[-1]}"


def staged(rendered: Rendered) -> dict[str, list[Manifest]]:
    """Stage name -> the objects applied in it (base first, then the graph's order), from the stack's graph."""
    graph = dependency_graph(rendered)
    objects = {object_key(o): o for o in rendered.objects}
    releases = {release_key(r): r for r in rendered.releases}
    stages: dict[str, str] = {}
    out: dict[str, list[Manifest]] = {BASE: []}
    seen: set[str] = set()
    for node in graph.order:
        if graph.kinds[node] == "secret":
            continue  # the platform provides Secrets (secrets-required.json); nothing to apply
        stages[node] = stage_of(node, graph, stages)
        part = out.setdefault(stages[node], [])
        if node in releases:
            repo, hr = _helm_release(releases[node], graph, releases)
            if repo["metadata"]["name"] not in seen:
                seen.add(repo["metadata"]["name"])
                out[BASE].append(repo)
            part.append(hr)
        else:
            part.append(objects[node])
    return {name: part for name, part in out.items() if part}


def stage_depends_on(rendered: Rendered) -> dict[str, list[str]]:
    """Stage -> the stages it waits for: where any of its nodes waits for a node of another stage."""
    graph = dependency_graph(rendered)
    stages: dict[str, str] = {}
    for node in graph.order:
        if graph.kinds[node] != "secret":
            stages[node] = stage_of(node, graph, stages)
    out: dict[str, set[str]] = {stage: set() for stage in stages.values()}
    for node, stage in stages.items():
        out[stage] |= {stages[d] for d in graph.deps[node] if d in stages} - {stage}
    return {stage: sorted(deps) for stage, deps in sorted(out.items())}


def flux_kustomization(stage: str, depends_on: list[str], path: str, labels: dict[str, str]) -> Manifest:
    """The Flux Kustomization that applies one stage's folder, after the stages it depends on are ready."""
    spec: dict[str, Any] = {
        "interval": INTERVAL,
        "retryInterval": "2m",
        "path": f"{path.rstrip('/')}/{stage}",
        "prune": True,
        "wait": True,  # ready means ready: the stages after this one wait for its releases and objects
        "sourceRef": {"kind": "GitRepository", "name": FLUX_SOURCE, "namespace": FLUX_NS},
    }
    if depends_on:
        spec["dependsOn"] = [{"name": kustomization_name(d)} for d in depends_on]
    return {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": kustomization_name(stage), "namespace": FLUX_NS, "labels": labels},
        "spec": spec,
    }


FLUX_SOURCE = "flux-system"  # the GitRepository `flux bootstrap` creates for the repository it manages


def kustomization_name(stage: str) -> str:
    return f"aifactory-{stage}"


def file_name(obj: Manifest) -> str:
    meta = obj["metadata"]
    scope = meta.get("namespace", "cluster")
    return f"{layer_of(obj)}/{_slug(obj['kind'])}_{scope}_{meta['name']}.yaml"


def _kustomize(resources: list[str]) -> str:
    return _dump({"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
                  "resources": sorted(resources)})


def gitops_files(rendered: Rendered, path: str = "./kubernetes") -> dict[str, str]:
    """File name -> YAML text; the same input gives the same bytes. `path` is where these files lie in the
    Git repository Flux reads (the Flux Kustomizations' `spec.path` is relative to its root)."""
    files: dict[str, str] = {}
    flux: list[str] = []
    labels = _stack_labels(rendered)
    depends = stage_depends_on(rendered)
    for stage, objects in staged(rendered).items():
        names = {file_name(obj): _dump(obj) for obj in objects}
        files.update({f"{stage}/{name}": text for name, text in names.items()})
        files[f"{stage}/kustomization.yaml"] = _kustomize(list(names))
        flux.append(f"{FLUX_DIR}/{stage}.yaml")
        files[flux[-1]] = _dump(flux_kustomization(stage, depends[stage], path, labels))
    files["kustomization.yaml"] = _kustomize(flux)
    if rendered.secrets:
        files[REQUIRED_SECRETS] = dumps_json({"secrets": required_secrets(rendered)})
    return files


def flux_path(folder: Path) -> str:
    """Where `folder` lies in the Git repository Flux reads: relative to the enclosing git checkout; outside
    any checkout, the folder is taken to be at the root of the repository it will be committed to."""
    folder = folder.resolve()
    for parent in (folder, *folder.parents):
        if (parent / ".git").exists():
            relative = folder.relative_to(parent).as_posix()
            return "./" if relative == "." else f"./{relative}"
    return f"./{folder.name}"


def _stack_labels(rendered: Rendered) -> dict[str, str]:
    """The region and blueprint labels the stack's objects carry (the Flux objects carry them too)."""
    metas = [o["metadata"] for o in rendered.objects] + [r.metadata for r in rendered.releases]
    labels = metas[0]["labels"] if metas else {}
    keep = ("app.kubernetes.io/managed-by", LABEL_REGION, LABEL_BLUEPRINT)
    return {k: labels[k] for k in keep if k in labels}


REQUIRED_SECRETS = "secrets-required.json"


def required_secrets(rendered: Rendered) -> list[dict[str, Any]]:
    """The Secrets the objects name, for the platform to provide: names and keys only."""
    out = []
    for spec in sorted(rendered.secrets, key=lambda s: (s.namespace, s.name)):
        keys = {k.key: {"secret_store_key": k.secret} for k in spec.keys}
        keys.update({key: {"value": value} for key, value in spec.plain})  # no secret (a fixed user name)
        out.append({"name": spec.name, "namespace": spec.namespace, "keys": keys})
    return out
