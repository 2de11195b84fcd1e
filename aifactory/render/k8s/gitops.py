"""GitOps output: one YAML file per object under a folder per layer, Helm releases as Flux `HelmRelease` +
`HelmRepository` objects, and a `kustomization.yaml` listing everything (Flux's kustomize-controller
applies it).

No Secret is written: a GitOps repository must hold no credential. The objects refer to their Secrets by name
(`minio-root`, `grafana-admin`), and `secrets-required.json` (not a manifest, so not in the kustomization) lists
each one the platform must provide, its namespace and keys, and the secret-store key the Pulumi program would
read its value from; never a value.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from aifactory.io import dumps_json
from aifactory.render.k8s.context import ChartRelease, Manifest, Rendered, layer_of

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


def gitops_objects(rendered: Rendered) -> list[Manifest]:
    """Everything `render --kubernetes` writes: the plain objects plus the Flux objects, repositories once."""
    out = list(rendered.objects)
    seen: set[str] = set()
    for release in rendered.releases:
        repo, hr = flux_objects(release)
        if repo["metadata"]["name"] not in seen:
            seen.add(repo["metadata"]["name"])
            out.append(repo)
        out.append(hr)
    return out


def file_name(obj: Manifest) -> str:
    meta = obj["metadata"]
    scope = meta.get("namespace", "cluster")
    return f"{layer_of(obj)}/{_slug(obj['kind'])}_{scope}_{meta['name']}.yaml"


def gitops_files(rendered: Rendered) -> dict[str, str]:
    """File name -> YAML text; the same input gives the same bytes."""
    files = {file_name(obj): _dump(obj) for obj in gitops_objects(rendered)}
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": sorted(files),
    }
    files["kustomization.yaml"] = _dump(kustomization)
    if rendered.secrets:
        files[REQUIRED_SECRETS] = dumps_json({"secrets": required_secrets(rendered)})
    return files


REQUIRED_SECRETS = "secrets-required.json"


def required_secrets(rendered: Rendered) -> list[dict[str, Any]]:
    """The Secrets the objects name, for the platform to provide: names and keys only."""
    out = []
    for spec in sorted(rendered.secrets, key=lambda s: (s.namespace, s.name)):
        keys = {k.key: {"secret_store_key": k.secret} for k in spec.keys}
        keys.update({key: {"value": value} for key, value in spec.plain})  # no secret (a fixed user name)
        out.append({"name": spec.name, "namespace": spec.namespace, "keys": keys})
    return out
