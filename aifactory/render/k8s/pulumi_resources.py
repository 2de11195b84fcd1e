"""Pulumi resources from the plain objects of `aifactory.render.kubernetes`: what the layer modules share.

Built-in kinds become their typed pulumi_kubernetes resources (checked by the provider),
everything else a `CustomResource`; Helm releases become `helm.v3.Release` pinned to the blueprint's version.
Every one of them goes through the stack's own `kubernetes.Provider` (its kubeconfig and context from the
stack's Pulumi config), and waits for what the stack's dependency graph (render/k8s/graph.py) says.
A Release has no labels of its own, so its provenance (region, blueprint, source) goes into its description.
Imported only by modules, inside a Pulumi program.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, ClassVar, Self, cast

import pulumi
import pulumi_kubernetes as k8s

from aifactory.errors import Problem, UserError
from aifactory.render.k8s.context import (
    ANNOTATION_SOURCE,
    LABEL_BLUEPRINT,
    LABEL_REGION,
    ChartRelease,
    Manifest,
    Rendered,
    SecretSpec,
)
from aifactory.render.k8s.graph import Graph, dependency_graph, object_key, release_key, secret_key

_TYPED: dict[tuple[str, str], Any] = {
    ("v1", "Namespace"): k8s.core.v1.Namespace,
    ("v1", "ConfigMap"): k8s.core.v1.ConfigMap,
    ("v1", "ResourceQuota"): k8s.core.v1.ResourceQuota,
    ("v1", "Service"): k8s.core.v1.Service,
    ("v1", "PersistentVolumeClaim"): k8s.core.v1.PersistentVolumeClaim,
    ("storage.k8s.io/v1", "StorageClass"): k8s.storage.v1.StorageClass,
    ("apps/v1", "StatefulSet"): k8s.apps.v1.StatefulSet,
}


def _snake(key: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()


def resource_name(prefix: str, obj: Manifest) -> str:
    """Child name derived from the component's name, unique per kind, namespace and name."""
    meta = obj["metadata"]
    scope = f"{meta['namespace']}-" if "namespace" in meta else ""
    return f"{prefix}-{obj['kind'].lower()}-{scope}{meta['name']}"


def create_object(prefix: str, obj: Manifest, opts: pulumi.ResourceOptions) -> pulumi.Resource:
    name = resource_name(prefix, obj)
    cls = _TYPED.get((obj["apiVersion"], obj["kind"]))
    if cls is None:
        return k8s.apiextensions.CustomResource(
            name,
            api_version=obj["apiVersion"],
            kind=obj["kind"],
            metadata=obj["metadata"],
            spec=obj.get("spec"),
            opts=opts,
        )
    body = {_snake(k): v for k, v in obj.items() if k not in ("apiVersion", "kind")}
    resource: pulumi.Resource = cls(name, opts=opts, **body)
    return resource


def provenance(release: ChartRelease) -> str:
    meta = release.metadata
    return " ".join(
        f"{k}={v}"
        for k, v in (
            (LABEL_REGION, meta["labels"][LABEL_REGION]),
            (LABEL_BLUEPRINT, meta["labels"][LABEL_BLUEPRINT]),
            (ANNOTATION_SOURCE, meta["annotations"][ANNOTATION_SOURCE]),
        )
    )


def create_release(prefix: str, release: ChartRelease, opts: pulumi.ResourceOptions) -> pulumi.Resource:
    oci = release.repository.startswith("oci://")
    return k8s.helm.v3.Release(
        f"{prefix}-release-{release.name}",
        name=release.name,
        chart=f"{release.repository}/{release.chart}" if oci else release.chart,
        repository_opts=None if oci else k8s.helm.v3.RepositoryOptsArgs(repo=release.repository),
        version=release.version,
        namespace=release.namespace,
        create_namespace=False,  # the Namespace is rendered, labelled, by the mlops layer
        values=release.values,
        description=provenance(release),
        opts=opts,
    )


def create_secret(prefix: str, spec: SecretSpec, opts: pulumi.ResourceOptions) -> pulumi.Resource:
    """The Secret from the stack's config secrets (`require_secret`: the values stay secret Outputs)."""
    cfg = pulumi.Config()
    data: dict[str, str | pulumi.Output[str]] = dict(spec.plain)
    for key in spec.keys:
        try:
            data[key.key] = cfg.require_secret(key.secret)
        except pulumi.ConfigMissingError as exc:
            raise UserError.at(
                None,
                f"Pulumi config secret '{cfg.full_key(key.secret)}' is not set (Secret {spec.namespace}/"
                f"{spec.name}, key {key.key})",
                f"run `pulumi config set --secret {key.secret}` in the Pulumi project folder",
            ) from exc
    return k8s.core.v1.Secret(
        f"{prefix}-secret-{spec.namespace}-{spec.name}",
        metadata=cast(Any, spec.metadata),
        type="Opaque",
        string_data=data,
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(additional_secret_outputs=["stringData"])),
    )


CLUSTER_PROVIDER = "kubernetes"  # the child name of the stack's one Kubernetes provider
KUBECONFIG_KEY = "kubeconfig"  # Pulumi config secret: the stack's kubeconfig (file contents)
CONTEXT_KEY = "kubeContext"  # Pulumi config: the context in it that names this stack's cluster


def missing_cluster_config(stack: str) -> list[Problem]:
    """A problem for each cluster setting the stack's config lacks (checked before anything is created): the
    program never falls back to the ambient kubeconfig or context, which may name another region's cluster."""
    cfg = pulumi.Config()
    out = []
    if cfg.get_secret(KUBECONFIG_KEY) is None:
        out.append(Problem(
            None,
            f"Pulumi config secret '{cfg.full_key(KUBECONFIG_KEY)}' is not set: the stack names no cluster",
            f"run `pulumi config set --secret {KUBECONFIG_KEY} --stack {stack} < KUBECONFIG_FILE` in the Pulumi "
            "project folder (the kubeconfig of this region's cluster; the ambient ~/.kube/config is never used)",
        ))
    if not cfg.get(CONTEXT_KEY):
        out.append(Problem(
            None,
            f"Pulumi config '{cfg.full_key(CONTEXT_KEY)}' is not set: the stack names no kubeconfig context",
            f"run `pulumi config set {CONTEXT_KEY} CONTEXT --stack {stack}` (the context of this region's cluster "
            "in that kubeconfig; its current-context is not trusted)",
        ))
    return out


@dataclass
class KubeStack:
    """One stack's Kubernetes side, shared by its layer modules: the provider every Kubernetes resource uses,
    the dependency graph of the rendered layer, and the resources created so far by graph node."""

    provider: pulumi.ProviderResource
    graph: Graph
    created: dict[str, pulumi.Resource] = field(default_factory=dict)

    @classmethod
    def create(cls, prefix: str, rendered: Rendered) -> KubeStack:
        """The provider from the stack's own kubeconfig and context (`missing_cluster_config` first)."""
        cfg = pulumi.Config()
        provider = k8s.Provider(
            f"{prefix}-{CLUSTER_PROVIDER}",
            kubeconfig=cfg.require_secret(KUBECONFIG_KEY),
            context=cfg.require(CONTEXT_KEY),
        )
        return cls(provider, dependency_graph(rendered))

    def depends_on(self, node: str, module: str) -> list[pulumi.Resource]:
        missing = [d for d in self.graph.deps[node] if d not in self.created]
        if missing:
            raise UserError.at(
                None,
                f"module {module!r} creates {node}, which needs {', '.join(missing)} from a module that runs later",
                "give the module that creates those a lower `order:` in its module.yaml",
            )
        return [self.created[d] for d in self.graph.deps[node]]


def create_layer(
    component: pulumi.ComponentResource, prefix: str, part: Rendered, kube: KubeStack
) -> list[pulumi.Resource]:
    """Create a layer's objects, releases and Secrets as children of `component`, in the stack's graph order,
    each with the stack's provider and exactly the dependencies the graph gives it (see render/k8s/graph.py)."""
    makers: dict[str, Callable[[pulumi.ResourceOptions], pulumi.Resource]] = {}
    for obj in part.objects:
        makers[object_key(obj)] = partial(create_object, prefix, obj)
    for release in part.releases:
        makers[release_key(release)] = partial(create_release, prefix, release)
    for spec in part.secrets:
        makers[secret_key(spec)] = partial(create_secret, prefix, spec)
    out = []
    for node in kube.graph.order:
        if node in makers:
            opts = pulumi.ResourceOptions(
                parent=component, provider=kube.provider, depends_on=kube.depends_on(node, prefix)
            )
            kube.created[node] = makers[node](opts)
            out.append(kube.created[node])
    return out


@dataclass(frozen=True)
class LayerArgs:
    """Typed args of a Kubernetes layer module: its part of the rendered layer and the stack's Kubernetes side
    (provider, graph). Subclasses set LAYER."""

    part: Rendered
    kube: KubeStack | None  # None where the stack has no Kubernetes layer (then `part` is empty)
    LAYER: ClassVar[str] = ""

    @classmethod
    def from_stack(cls, stack: Any) -> Self:
        part = stack.rendered.layer(cls.LAYER)
        if stack.kubernetes is None and (part.objects or part.releases or part.secrets):
            raise UserError.at(None, f"layer {cls.LAYER!r}: the stack has no Kubernetes provider",
                               "create the stack's KubeStack before its layer modules (aifactory.deploy.pulumi)")
        return cls(part, stack.kubernetes)


class LayerComponent(pulumi.ComponentResource):
    """Creates one layer's objects as its children. Subclasses set TOKEN (`pkg:module:Type`).

    Layer components do not wait for each other as a whole (`GRAPH_ORDERED`): each child waits for exactly the
    resources the stack's dependency graph names, in whichever layer they are."""

    TOKEN: ClassVar[str] = ""
    GRAPH_ORDERED: ClassVar[bool] = True

    def __init__(self, name: str, args: LayerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(self.TOKEN, name, None, opts)
        self.resources = create_layer(self, name, args.part, args.kube) if args.kube is not None else []
        self.register_outputs({"objects": len(args.part.objects), "releases": [r.name for r in args.part.releases]})
