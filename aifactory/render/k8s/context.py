"""What every Kubernetes object builder shares: the blueprint, the region, labels and the mirror rewrite.

Provenance: every object carries `aifactory.io/region` and `aifactory.io/blueprint` labels and an
`aifactory.io/source: <file>#<json pointer>` annotation naming the blueprint value it was derived from (the
file is where that value was written, so a stack override points at the stack file). The CrossGuard pack
reads these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from aifactory.blueprint import Blueprint, LoadedBlueprint
from aifactory.catalog import get_catalog
from aifactory.errors import UserError

Manifest = dict[str, Any]
BlueprintPath = tuple[str | int, ...]

LABEL_REGION = "aifactory.io/region"
LABEL_BLUEPRINT = "aifactory.io/blueprint"
LABEL_LAYER = "aifactory.io/layer"
ANNOTATION_SOURCE = "aifactory.io/source"
LAYERS = ("compute", "fabric", "storage", "cooling", "mlops")


@dataclass(frozen=True)
class ChartRelease:
    """A Helm release pinned to the blueprint: Pulumi installs it, `render` writes it as Flux objects."""

    name: str
    chart: str
    version: str
    repository: (
        str  # https://... index or oci://... registry path, already rewritten to a mirror if sovereign
    )
    namespace: str
    values: dict[str, Any]
    metadata: Manifest  # labels and annotations, as on every other object
    layer: str = "mlops"
    provides_crds: tuple[str, ...] = ()  # "group/Kind" of the CRDs the chart installs (render/k8s/graph.py)
    provides_csi: tuple[str, ...] = ()  # CSI driver names the chart registers (a StorageClass's provisioner)
    provides_classes: tuple[str, ...] = ()  # StorageClasses the chart renders itself (claims naming one wait)


@dataclass(frozen=True)
class SecretKey:
    """One key of a Secret whose value lives in the secret store under `secret` (never in the blueprint)."""

    key: str  # the data key in the Kubernetes Secret
    secret: str  # the Pulumi config key (a SecretRef's name)
    path: BlueprintPath  # the blueprint field that names it


@dataclass(frozen=True)
class SecretSpec:
    """A Kubernetes Secret that rendered objects refer to by name.

    The Pulumi program creates it, its values read from the stack's config secrets; `render --kubernetes`
    writes no Secret (the GitOps repository must hold no credential): the platform provides one with this
    name, namespace and keys, and `secrets-required.json` lists them."""

    name: str
    namespace: str
    keys: tuple[SecretKey, ...]
    metadata: Manifest
    plain: tuple[tuple[str, str], ...] = ()  # data keys that are no secret (a user name fixed by the chart)
    layer: str = "mlops"


@dataclass
class Rendered:
    """The Kubernetes and MLOps layer of one stack: plain objects, Helm releases and the Secrets they use."""

    objects: list[Manifest] = field(default_factory=list)
    releases: list[ChartRelease] = field(default_factory=list)
    secrets: list[SecretSpec] = field(default_factory=list)

    def layer(self, name: str) -> Rendered:
        """Only what belongs to one layer (what that layer's module creates)."""
        return Rendered(
            [o for o in self.objects if layer_of(o) == name],
            [r for r in self.releases if r.layer == name],
            [s for s in self.secrets if s.layer == name],
        )


def layer_of(obj: Manifest) -> str:
    return str(obj["metadata"]["labels"][LABEL_LAYER])


@dataclass(frozen=True)
class Ctx:
    loaded: LoadedBlueprint
    region: str

    @property
    def bp(self) -> Blueprint:
        return self.loaded.model

    @property
    def sovereign(self) -> bool:
        sov = self.bp.site.sovereignty
        return sov.enforced or bool(sov.mirrors)

    @property
    def telemetry_off(self) -> bool:
        return self.sovereign or not self.bp.site.sovereignty.vendor_telemetry

    def gpu_resource(self) -> str:
        """Extended resource name the device plugin advertises for this SKU's GPUs."""
        sku = get_catalog().nodes[self.bp.compute.node_sku]
        vendor = get_catalog().gpus[sku.gpu].vendor if sku.gpus else "nvidia"
        return "amd.com/gpu" if vendor == "amd" else "nvidia.com/gpu"

    def metadata(self, name: str, layer: str, path: BlueprintPath, namespace: str | None = None) -> Manifest:
        loc = self.loaded.locate(*path)
        meta: Manifest = {
            "name": name,
            "labels": {
                "app.kubernetes.io/managed-by": "aifactory",
                LABEL_REGION: self.region,
                LABEL_BLUEPRINT: self.bp.name,
                LABEL_LAYER: layer,
            },
            "annotations": {ANNOTATION_SOURCE: f"{loc.file}#{self.loaded.pointer(*path)}"},
        }
        if namespace is not None:
            meta["namespace"] = namespace
        return meta

    def obj(
        self,
        api_version: str,
        kind: str,
        name: str,
        layer: str,
        path: BlueprintPath,
        namespace: str | None = None,
        **body: Any,
    ) -> Manifest:
        return {
            "apiVersion": api_version,
            "kind": kind,
            "metadata": self.metadata(name, layer, path, namespace),
            **body,
        }

    def image(self, ref: str) -> str:
        """`nvcr.io/nvidia/driver` -> `<mirror host>/nvcr.io/nvidia/driver` on a sovereign stack.

        The upstream registry stays in the path so one mirror can serve several registries without clashes
        (the layout of a pull-through cache with one project per upstream)."""
        if not self.sovereign:
            return ref
        registry = ref.split("/", 1)[0]
        for mirror in self.bp.site.sovereignty.mirrors:
            if mirror.kind == "oci" and registry in mirror.mirrors:
                return f"{_host(mirror.url)}/{ref}"
        index = next((i for i, m in enumerate(self.bp.site.sovereignty.mirrors) if m.kind == "oci"), None)
        path: BlueprintPath = ("site", "sovereignty", "mirrors") + ((index,) if index is not None else ())
        raise UserError.at(
            self.loaded.locate(*path),
            f"image {ref!r} comes from registry {registry!r}, which no `kind: oci` mirror serves",
            f"add {registry!r} to the `mirrors:` list of an oci mirror under site.sovereignty.mirrors",
            path=".".join(str(p) for p in path),
        )

    def chart_repository(self, name: str, repository: str) -> str:
        """Chart source: an OCI chart goes through the OCI mirror, an index through the helm mirror."""
        if not self.sovereign:
            return repository
        if repository.startswith("oci://"):
            return "oci://" + self.image(repository.removeprefix("oci://"))
        for mirror in self.bp.site.sovereignty.mirrors:
            if mirror.kind == "helm":
                return mirror.url
        raise UserError.at(
            self.loaded.locate("site", "sovereignty", "mirrors"),
            f"chart {name!r} comes from {repository!r} and the sovereign site has no `kind: helm` mirror",
            "add a helm mirror under site.sovereignty.mirrors (or publish the chart to the oci mirror)",
            path="site.sovereignty.mirrors",
        )


def _host(url: str) -> str:
    parsed = urlparse(url)
    return (parsed.netloc + parsed.path).rstrip("/")
