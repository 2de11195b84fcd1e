"""The creation order of one stack's Kubernetes layer: a dependency graph over the rendered objects, Helm
releases and Secrets, computed once and used by both deploy paths (the Pulumi program's `depends_on`, the
GitOps output's HelmRelease `dependsOn` and Flux Kustomization `dependsOn`).

The edges follow what a fresh cluster needs, and nothing more:
- a namespaced object, release or Secret waits for its Namespace (where the stack renders it);
- an object or release waits for the rendered Secrets it names (MinIO's root login in its StatefulSet,
  Grafana's admin login in kube-prometheus-stack's values, the UFM login in the NicClusterPolicy): a pod
  that starts before its Secret exists fails;
- a custom resource waits for the one release whose chart installs its CRD (`ChartRelease.provides_crds`,
  "group/Kind"), never for the other releases: one failing chart blocks only what needs it;
- a custom resource whose CRD an operator installs as an operand, when a rendered object asks for it (the
  network operator creates nv-ipam's IPPool CRD for a NicClusterPolicy with `nvIpam`), waits for that object
  (`OPERAND_CRDS`); the API server refuses it until the operator has acted, and both deploy paths retry;
- a release whose chart templates create custom resources of another chart (dcgm-exporter's ServiceMonitor,
  kserve-resources' ClusterServingRuntimes and cert-manager Certificates, network-operator's NodeFeatureRules
  when the GPU operator brings NFD) waits for the release that installs those CRDs (`release_needs`);
- a release that cannot become ready before some rendered object acts (dcgm-exporter's pods on GPU nodes
  need the container toolkit the GPU operator's ClusterPolicy deploys) waits for that object (`release_after`);
  the ClusterPolicy itself waits only for the gpu-operator release, so no readiness cycle exists;
- a StorageClass waits for the release that installs its provisioner's CSI driver (`ChartRelease.provides_csi`),
  so the class never names a driver the cluster does not have yet;
- a PersistentVolumeClaim, and a StatefulSet's claim templates, wait for the StorageClass they name, where the
  stack renders it, or for the release that renders it (`ChartRelease.provides_classes`: VAST's chart).

A custom resource whose CRD no enabled chart installs would be refused by the API server; that is a
UserError here, at the blueprint value the object comes from.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from aifactory.errors import Location, Problem, UserError
from aifactory.render.k8s.context import ANNOTATION_SOURCE, ChartRelease, Manifest, Rendered, SecretSpec

# API groups the API server serves itself: objects in them need no CRD.
BUILTIN_GROUPS = frozenset({
    "", "apps", "batch", "policy", "autoscaling", "storage.k8s.io", "networking.k8s.io", "node.k8s.io",
    "rbac.authorization.k8s.io", "scheduling.k8s.io", "coordination.k8s.io", "discovery.k8s.io",
    "admissionregistration.k8s.io", "apiextensions.k8s.io", "certificates.k8s.io", "resource.k8s.io",
})

Values = dict[str, Any]


def _enabled(values: Values, *path: str, default: bool) -> bool:
    node: Any = values
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return default
        node = node[key]
    return bool(node)


def _dcgm_exporter(values: Values) -> tuple[str, ...]:
    # The chart's default is serviceMonitor.enabled: true.
    return ("monitoring.coreos.com/ServiceMonitor",) if _enabled(values, "serviceMonitor", "enabled",
                                                                  default=True) else ()


def _network_operator(values: Values) -> tuple[str, ...]:
    # The chart creates NodeFeatureRules (nfd.deployNodeFeatureRules, default true); their CRD comes from its
    # own NFD subchart when nfd.enabled, else from whoever runs NFD (the GPU operator).
    if _enabled(values, "nfd", "enabled", default=True):
        return ()
    return ("nfd.k8s-sigs.io/NodeFeatureRule",) if _enabled(values, "nfd", "deployNodeFeatureRules",
                                                            default=True) else ()


def _kserve_resources(values: Values) -> tuple[str, ...]:
    # The default ClusterServingRuntimes and ClusterStorageContainer; the webhook's Certificate and Issuer.
    return (
        "serving.kserve.io/ClusterServingRuntime",
        "serving.kserve.io/ClusterStorageContainer",
        "cert-manager.io/Certificate",
        "cert-manager.io/Issuer",
    )


# Chart name -> the custom resources its templates create, from its values ("group/Kind").
RELEASE_NEEDS: dict[str, Callable[[Values], tuple[str, ...]]] = {
    "dcgm-exporter": _dcgm_exporter,
    "network-operator": _network_operator,
    "kserve-resources": _kserve_resources,
}

# Chart name -> rendered objects ("group/Kind") the release waits for: its pods need what they deploy.
RELEASE_AFTER: dict[str, tuple[str, ...]] = {
    "dcgm-exporter": ("nvidia.com/ClusterPolicy",),  # the container toolkit on the GPU nodes
}


def _nic_cluster_policy(obj: Manifest) -> tuple[str, ...]:
    # The network operator's state-nv-ipam-cni manifests (v26.4.1) create the CIDRPool and IPPool CRDs.
    if "nvIpam" in (obj.get("spec") or {}):
        return ("nv-ipam.nvidia.com/CIDRPool", "nv-ipam.nvidia.com/IPPool")
    return ()


# Rendered kind ("group/Kind") -> the CRDs its operator installs for it, from its spec ("group/Kind").
OPERAND_CRDS: dict[str, Callable[[Manifest], tuple[str, ...]]] = {
    "mellanox.com/NicClusterPolicy": _nic_cluster_policy,
}


def group_kind(obj: Manifest) -> str:
    """`group/Kind` of an object (`/Kind` for the core group)."""
    api = str(obj["apiVersion"])
    group = api.rpartition("/")[0] if "/" in api else ""
    return f"{group}/{obj['kind']}"


def is_custom(obj: Manifest) -> bool:
    return group_kind(obj).rpartition("/")[0] not in BUILTIN_GROUPS


def secret_names(value: Any) -> set[str]:
    """The Secrets an object's spec or a release's values name (`secretKeyRef`, `secretRef`, `secretName`,
    `existingSecret`, the NicClusterPolicy's `ufmSecret`)."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("secretKeyRef", "secretRef") and isinstance(item, dict) and isinstance(item.get("name"), str):
                found.add(item["name"])
            elif key in ("secretName", "existingSecret", "ufmSecret") and isinstance(item, str):
                found.add(item)
            else:
                found |= secret_names(item)
    elif isinstance(value, list):
        for item in value:
            found |= secret_names(item)
    return found


def object_key(obj: Manifest) -> str:
    meta = obj["metadata"]
    return f"{obj['kind']}/{meta.get('namespace', '')}/{meta['name']}"


def release_key(release: ChartRelease) -> str:
    return f"HelmRelease/{release.namespace}/{release.name}"


def secret_key(spec: SecretSpec) -> str:
    return f"Secret/{spec.namespace}/{spec.name}"


@dataclass(frozen=True)
class Graph:
    """Nodes in creation order (every node after all of its dependencies) and each node's dependencies."""

    order: tuple[str, ...]
    deps: Mapping[str, tuple[str, ...]]
    kinds: Mapping[str, str]  # node -> "object" | "release" | "secret"
    owner: Mapping[str, str]  # custom resource node -> the release (or operand owner object) installing its CRD

    def releases(self) -> list[str]:
        return [n for n in self.order if self.kinds[n] == "release"]


def _owners(releases: Iterable[ChartRelease]) -> dict[str, str]:
    owners: dict[str, str] = {}
    for release in releases:
        for crd in release.provides_crds:
            owners.setdefault(crd, release_key(release))
    return owners


def _claimed_classes(obj: Manifest) -> list[str]:
    """The StorageClasses a PersistentVolumeClaim or a StatefulSet's volumeClaimTemplates name."""
    spec = obj.get("spec") or {}
    if obj["kind"] == "PersistentVolumeClaim":
        claims = [spec]
    elif obj["kind"] == "StatefulSet":
        claims = [t.get("spec") or {} for t in spec.get("volumeClaimTemplates") or []]
    else:
        return []
    return sorted({c["storageClassName"] for c in claims if isinstance(c.get("storageClassName"), str)})


def _unowned(obj: Manifest) -> Problem:
    source = str(obj["metadata"].get("annotations", {}).get(ANNOTATION_SOURCE, ""))
    file, _, pointer = source.partition("#")
    return Problem(
        Location(file) if file else None,
        f"{obj['kind']} {obj['metadata']['name']!r} ({obj['apiVersion']}) needs a CRD that no enabled chart "
        "installs",
        "enable the component whose chart brings it under mlops.components (and pin its chart under "
        "software.charts)",
        pointer.lstrip("/").replace("/", "."),
    )


def dependency_graph(rendered: Rendered) -> Graph:
    """The dependency graph of one stack's Kubernetes layer (a pure function of what `build` rendered)."""
    deps: dict[str, list[str]] = {}
    kinds: dict[str, str] = {}
    owner: dict[str, str] = {}
    namespaces = {o["metadata"]["name"] for o in rendered.objects if o["kind"] == "Namespace"}
    classes = {o["metadata"]["name"] for o in rendered.objects if o["kind"] == "StorageClass"}
    secrets_in: dict[str, list[str]] = {}
    for spec in rendered.secrets:
        secrets_in.setdefault(spec.namespace, []).append(secret_key(spec))
    owners = _owners(rendered.releases)
    for obj in rendered.objects:
        operand = OPERAND_CRDS.get(group_kind(obj))
        for crd in operand(obj) if operand is not None else ():
            owners.setdefault(crd, object_key(obj))
    drivers = {csi: release_key(r) for r in rendered.releases for csi in r.provides_csi}
    charted = {name: release_key(r) for r in rendered.releases for name in r.provides_classes}
    by_kind: dict[str, list[str]] = {}
    for obj in rendered.objects:
        by_kind.setdefault(group_kind(obj), []).append(object_key(obj))

    def scoped(namespace: str | None, secrets: Iterable[str] = ()) -> list[str]:
        """The namespace, and the rendered Secrets named in `secrets`: in that namespace, or in any namespace
        for a cluster-scoped object (which names a Secret of its operator's namespace)."""
        names = set(secrets)
        out = [f"Namespace//{namespace}"] if namespace in namespaces else []
        places = [namespace] if namespace is not None else sorted(secrets_in)
        return out + sorted(s for ns in places for s in secrets_in.get(ns, []) if s.rpartition("/")[2] in names)

    for spec in rendered.secrets:
        key = secret_key(spec)
        kinds[key], deps[key] = "secret", scoped(spec.namespace, ())
    problems = []
    for obj in rendered.objects:
        key = object_key(obj)
        kinds[key] = "object"
        deps[key] = scoped(obj["metadata"].get("namespace"), sorted(secret_names(obj)))
        if is_custom(obj):
            crd_owner = owners.get(group_kind(obj))
            if crd_owner is None:
                problems.append(_unowned(obj))
                continue
            owner[key] = crd_owner
            deps[key].append(crd_owner)
        if obj["kind"] == "StorageClass" and obj.get("provisioner") in drivers:
            deps[key].append(drivers[obj["provisioner"]])
        deps[key] += [f"StorageClass//{name}" for name in _claimed_classes(obj) if name in classes]
        deps[key] += sorted({charted[name] for name in _claimed_classes(obj) if name in charted})
    if problems:
        raise UserError(problems)
    for release in rendered.releases:
        key = release_key(release)
        kinds[key] = "release"
        deps[key] = scoped(release.namespace, secret_names(release.values))
        needs = RELEASE_NEEDS.get(release.chart)
        need = needs(release.values) if needs is not None else ()
        deps[key] += sorted({owners[crd] for crd in need if crd in owners} - {key})
        deps[key] += sorted(n for kind in RELEASE_AFTER.get(release.chart, ()) for n in by_kind.get(kind, []))
    final = {k: tuple(dict.fromkeys(v)) for k, v in deps.items()}
    return Graph(topological(final), final, kinds, owner)


def topological(deps: Mapping[str, tuple[str, ...]]) -> tuple[str, ...]:
    """Nodes ordered so that each comes after its dependencies (ties by name); a cycle is an error."""
    unknown = sorted({x for d in deps.values() for x in d} - set(deps))
    if unknown:
        raise ValueError(f"dependencies on nodes that are not rendered: {', '.join(unknown)}")
    done: list[str] = []
    placed: set[str] = set()
    pending = dict(deps)
    while pending:
        ready = sorted(n for n, d in pending.items() if all(x in placed for x in d))
        if not ready:
            raise ValueError(f"dependency cycle among {', '.join(sorted(pending))}")
        for node in ready:
            done.append(node)
            placed.add(node)
            del pending[node]
    return tuple(done)
