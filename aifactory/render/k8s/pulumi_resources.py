"""Pulumi resources from the plain objects of `aifactory.render.kubernetes`: what the layer modules share.

Built-in kinds become their typed pulumi_kubernetes resources (checked by the provider),
everything else a `CustomResource`; Helm releases become `helm.v3.Release` pinned to the blueprint's version.
A Release has no labels of its own, so its provenance (region, blueprint, source) goes into its description.
Imported only by modules, inside a Pulumi program.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self, cast

import pulumi
import pulumi_kubernetes as k8s

from aifactory.errors import UserError
from aifactory.render.k8s.context import (
    ANNOTATION_SOURCE,
    LABEL_BLUEPRINT,
    LABEL_REGION,
    ChartRelease,
    Manifest,
    SecretSpec,
)

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


def create_layer(
    component: pulumi.ComponentResource,
    prefix: str,
    objects: list[Manifest],
    releases: list[ChartRelease],
    secrets: list[SecretSpec] | None = None,
) -> list[pulumi.Resource]:
    """Create a layer's objects as children of `component`: namespaces first, then the Secrets from the stack's
    config secrets, then Helm releases (which bring the CRDs), then everything else depending on all of them."""
    first = [
        create_object(prefix, o, pulumi.ResourceOptions(parent=component))
        for o in objects
        if o["kind"] == "Namespace"
    ]
    first += [
        create_secret(prefix, s, pulumi.ResourceOptions(parent=component, depends_on=list(first)))
        for s in secrets or []
    ]
    charts = [
        create_release(prefix, r, pulumi.ResourceOptions(parent=component, depends_on=first))
        for r in releases
    ]
    rest = [
        create_object(prefix, o, pulumi.ResourceOptions(parent=component, depends_on=first + charts))
        for o in objects
        if o["kind"] != "Namespace"
    ]
    return first + charts + rest


@dataclass(frozen=True)
class LayerArgs:
    """Typed args of a Kubernetes layer module: its objects and Helm releases. Subclasses set LAYER."""

    objects: list[Manifest]
    releases: list[ChartRelease]
    secrets: list[SecretSpec] = field(default_factory=list)
    LAYER: ClassVar[str] = ""

    @classmethod
    def from_stack(cls, stack: Any) -> Self:
        part = stack.rendered.layer(cls.LAYER)
        return cls(part.objects, part.releases, part.secrets)


class LayerComponent(pulumi.ComponentResource):
    """Creates one layer's objects as its children. Subclasses set TOKEN (`pkg:module:Type`)."""

    TOKEN: ClassVar[str] = ""

    def __init__(self, name: str, args: LayerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(self.TOKEN, name, None, opts)
        self.resources = create_layer(self, name, args.objects, args.releases, args.secrets)
        self.register_outputs({"objects": len(args.objects), "releases": [r.name for r in args.releases]})
