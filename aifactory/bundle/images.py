"""Every container image a design pulls: the operands of the custom resources and workloads aifactory renders
(read from the rendered objects), and the images each pinned Helm chart runs (read from the release's values,
falling back on the chart's own defaults at its pinned version, listed here).

The chart defaults below were read from each chart's values.yaml (and Chart.yaml appVersion, which a chart
uses where its tag is empty) at the pinned version; tests/bundle/test_chart_images.py checks every entry
against those files, kept as test data in tests/data/charts with their source. An image the chart's defaults
leave off (an optional component) is not listed: the design does not pull it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aifactory.render.k8s import images as pinned


@dataclass(frozen=True)
class ChartImage:
    """One image a chart runs: the values path that sets it, and the chart's default reference."""

    path: str
    default: str
    when: str = ""  # a values path that, set false, keeps the chart from running the image ("" = always)
    requires: str = ""  # a values path that must be set true for the chart to run it (an optional subchart)
    registry: str = ""  # a values path of a chart-wide registry that replaces the default's host ("" = none)


def _ref(repository: str, tag: str) -> str:
    return f"{repository}:{tag}"


# chart name -> (pinned version, images)
CHART_IMAGES: dict[str, tuple[str, tuple[ChartImage, ...]]] = {
    # jetstack/cert-manager v1.21.1: imageRegistry quay.io + imageNamespace jetstack + each image.name, tag the
    # chart's appVersion. Our values set `imageRegistry` (the mirror on a sovereign stack), not imageNamespace.
    "cert-manager": (
        "v1.21.1",
        tuple(
            ChartImage(path, f"quay.io/jetstack/cert-manager-{name}:v1.21.1", registry="imageRegistry")
            for path, name in (
                ("image", "controller"),
                ("webhook.image", "webhook"),
                ("cainjector.image", "cainjector"),
                ("acmesolver.image", "acmesolver"),
                ("startupapicheck.image", "startupapicheck"),
            )
        ),
    ),
    # NVIDIA/gpu-operator v26.7.0: the operator (its operands are the ClusterPolicy's) and the bundled NFD.
    "gpu-operator": (
        "v26.7.0",
        (
            ChartImage("operator", "nvcr.io/nvidia/gpu-operator:v26.7.0"),
            ChartImage("node-feature-discovery.image", _ref(*pinned.NFD)),
        ),
    ),
    # Mellanox/network-operator 26.4.1: the operator and the OFED init container (operands: NicClusterPolicy).
    "network-operator": (
        "26.4.1",
        (
            ChartImage("operator", "nvcr.io/nvidia/cloud-native/network-operator:v26.4.1"),
            ChartImage(
                "operator.ofedDriver.initContainer",
                "nvcr.io/nvidia/mellanox/network-operator-init-container:network-operator-v26.4.1",
            ),
            ChartImage("node-feature-discovery.image", _ref(*pinned.NETWORK_OPERATOR_NFD), when="nfd.enabled"),
            # Its SR-IOV network operator subchart (tenant partitions as pod networks): whole references by name.
            *(
                ChartImage(f"sriov-network-operator.images.{key}", ref, requires="sriovNetworkOperator.enabled")
                for key, ref in sorted(pinned.SRIOV_NETWORK_OPERATOR.items())
            ),
        ),
    ),
    "dcgm-exporter": ("4.8.2", (ChartImage("image", "nvcr.io/nvidia/k8s/dcgm-exporter:4.5.3-4.8.2-distroless"),)),
    # prometheus-community/kube-prometheus-stack 88.5.3 (appVersion v0.93.1) and its subcharts grafana 12.11.1
    # (13.2.0), kube-state-metrics 8.4.0 (2.20.0), prometheus-node-exporter 4.56.1 (1.12.1).
    "kube-prometheus-stack": (
        "88.5.3",
        (
            ChartImage("alertmanager.alertmanagerSpec.image", "quay.io/prometheus/alertmanager:v0.34.0"),
            ChartImage("prometheusOperator.image", "quay.io/prometheus-operator/prometheus-operator:v0.93.1"),
            ChartImage(
                "prometheusOperator.prometheusConfigReloader.image",
                "quay.io/prometheus-operator/prometheus-config-reloader:v0.93.1",
            ),
            ChartImage("prometheusOperator.thanosImage", "quay.io/thanos/thanos:v0.42.4"),
            ChartImage(
                "prometheusOperator.admissionWebhooks.patch.image", "ghcr.io/jkroepke/kube-webhook-certgen:1.8.7"
            ),
            ChartImage("prometheus.prometheusSpec.image", "quay.io/prometheus/prometheus:v3.14.0-distroless"),
            ChartImage("kube-state-metrics.image", "registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.20.0"),
            ChartImage("prometheus-node-exporter.image", "quay.io/prometheus/node-exporter:v1.12.1"),
            ChartImage("prometheus-node-exporter.permissionInitContainer.image", "quay.io/prometheus/busybox:latest"),
            ChartImage("grafana.image", "docker.io/grafana/grafana:13.2.0"),
            ChartImage("grafana.downloadDashboardsImage", "docker.io/curlimages/curl:8.21.0"),
            ChartImage("grafana.initChownData.image", "docker.io/library/busybox:1.38.0"),
            ChartImage("grafana.sidecar.image", "quay.io/kiwigrid/k8s-sidecar:2.10.1"),
        ),
    ),
    # kubernetes-sigs/kueue 0.19.2: the chart defaults to the staging registry; the release is registry.k8s.io.
    "kueue": ("0.19.2", (ChartImage("controllerManager.manager.image", "registry.k8s.io/kueue/kueue:v0.19.2"),)),
    # kubeflow/trainer 2.3.0 (tags empty: the chart's version) and its jobset 0.12.0 subchart.
    "kubeflow-trainer": (
        "2.3.0",
        (
            ChartImage("image", "ghcr.io/kubeflow/trainer/trainer-controller-manager:v2.3.0"),
            ChartImage("jobset.image", _ref(*pinned.JOBSET)),
            ChartImage("runtimes.installer.image", "docker.io/library/alpine:3.21"),
            ChartImage(
                "runtimes.torchtuneDistributed.image",
                "ghcr.io/kubeflow/trainer/torchtune-trainer:v2.3.0",
                when="runtimes.torchtuneDistributed.enabled",
            ),
        ),
    ),
    "kserve-crd": ("v0.20.0", ()),
    # kserve/kserve charts/kserve-resources v0.20.0: `kserve.<component>.image` + the chart's version.
    "kserve-resources": (
        "v0.20.0",
        (
            ChartImage("kserve.controller", "docker.io/kserve/kserve-controller:v0.20.0"),
            ChartImage("kserve.controller.rbacProxyImage", pinned.KSERVE_RBAC_PROXY),
            ChartImage("kserve.agent", "docker.io/kserve/agent:v0.20.0"),
            ChartImage("kserve.router", "docker.io/kserve/router:v0.20.0"),
            ChartImage("kserve.storage", "docker.io/kserve/storage-initializer:v0.20.0"),
        ),
    ),
    # community-charts/mlflow 1.11.5 (appVersion 3.15.1).
    "mlflow": (
        "1.11.5",
        (
            ChartImage("image", "docker.io/burakince/mlflow:3.15.1"),
            ChartImage("initImages.dbchecker", "docker.io/library/busybox:1.38.0"),
            ChartImage("initImages.mlflowDbMigration", "docker.io/burakince/mlflow:3.15.1"),
        ),
    ),
    "kuberay-operator": ("v1.7.0", (ChartImage("image", "quay.io/kuberay/operator:v1.7.0"),)),
    # volcano-sh/volcano 1.15.1: `basic.*_image_name` + `basic.image_tag_version`.
    "volcano": (
        "1.15.1",
        tuple(
            ChartImage(f"basic.{key}_image_name", f"docker.io/volcanosh/{name}:v1.15.1")
            for key, name in (
                ("controller", "vc-controller-manager"),
                ("scheduler", "vc-scheduler"),
                ("admission", "vc-webhook-manager"),
            )
        ),
    ),
    "k8s-nim-operator": ("v3.1.2", (ChartImage("operator.image", "ghcr.io/nvidia/k8s-nim-operator:release-3.0"),)),
    "gpu-operator-charts": (
        "v1.5.1",
        (ChartImage("controllerManager.manager.image", _ref(*pinned.AMD_GPU_OPERATOR["operator"])),),
    ),
    # kubernetes-csi/csi-driver-nfs 4.13.4 (sidecars from registry.k8s.io, the chart's `image.baseRepo`).
    "csi-driver-nfs": (
        "4.13.4",
        (
            ChartImage("image.nfs", "registry.k8s.io/sig-storage/nfsplugin:v4.13.4"),
            ChartImage("image.csiProvisioner", "registry.k8s.io/sig-storage/csi-provisioner:v6.3.0"),
            ChartImage("image.csiResizer", "registry.k8s.io/sig-storage/csi-resizer:v2.2.0"),
            ChartImage("image.livenessProbe", "registry.k8s.io/sig-storage/livenessprobe:v2.19.0"),
            ChartImage("image.nodeDriverRegistrar", "registry.k8s.io/sig-storage/csi-node-driver-registrar:v2.17.0"),
        ),
    ),
    "exa-csi": ("2.9.0", tuple(ChartImage(key, _ref(*ref)) for key, ref in pinned.EXA_CSI.items())),
    "vastcsi": ("2.5.0", tuple(ChartImage(f"image.{key}", _ref(*ref)) for key, ref in pinned.VAST_CSI.items())),
    "csi-wekafsplugin": (
        "2.8.8",
        (
            *(ChartImage(f"images.{key}", _ref(*ref)) for key, ref in pinned.WEKA_CSI_SIDECARS.items()),
            ChartImage("images.csidriver", f"{pinned.WEKA_CSI_DRIVER}:v2.8.8"),
        ),
    ),
}


def split(ref: str) -> tuple[str, str, str]:
    """`registry/path:tag` (or `@sha256:...`) -> (registry, path, tag-or-digest)."""
    name, at, digest = ref.partition("@")
    registry, _, rest = name.partition("/")
    last = rest.rsplit("/", 1)[-1]
    if ":" in last:
        path, _, tag = rest.rpartition(":")
    else:
        path, tag = rest, ""
    return registry, path, (at + digest) if at else tag


def _at(values: Any, path: str) -> Any:
    node = values
    for key in path.split("."):
        if not isinstance(node, Mapping) or key not in node:
            return None
        node = node[key]
    return node


def chart_image(entry: ChartImage, values: Mapping[str, Any], unmirror: Any) -> str | None:
    """The reference the release pulls for one chart image: the release's own setting where it makes one, else
    the chart's default; None where the chart does not run the image with these values."""
    if (entry.when and _at(values, entry.when) is False) or (
        entry.requires and _at(values, entry.requires) is not True
    ):
        return None
    node = _at(values, entry.path)
    registry, path, tag = split(entry.default)
    shared = _at(values, entry.registry) if entry.registry else None
    if isinstance(shared, str) and shared:
        registry = unmirror(shared).rstrip("/")
    if isinstance(node, str):
        whole = unmirror(node)
        return whole if split(whole)[2] else f"{whole}:{tag}"
    if not isinstance(node, Mapping):
        return entry.default if not isinstance(shared, str) or not shared else f"{registry}/{path}:{tag}"
    tag = str(node.get("tag") or node.get("version") or tag)
    if isinstance(node.get("registry"), str):
        return f"{unmirror(node['registry'])}/{node.get('repository') or path}:{tag}"
    if isinstance(node.get("repository"), str) and isinstance(node.get("image"), str):
        return f"{unmirror(node['repository'])}/{node['image']}:{tag}"
    if isinstance(node.get("repository"), str):
        repository = unmirror(node["repository"])
        # A chart that splits `repository` from `image` keeps its default image name under our repository.
        name = f"{registry}/{path}"
        return f"{name if name.startswith(repository + '/') else repository}:{tag}"
    if isinstance(node.get("image"), str):
        return f"{unmirror(node['image'])}:{tag}"
    return f"{registry}/{path}:{tag}"


def object_images(node: Any, where: str = "") -> Iterator[tuple[str, str]]:
    """(object path, reference) for every image a rendered object names: `repository`/`image`/`version`
    triples (the operators' custom resources; an operand with `enabled: false` is not pulled) and whole
    references in `image` or `*Image` keys (containers, the AMD DeviceConfig)."""
    if isinstance(node, Mapping):
        if node.get("enabled") is False:
            return
        if all(isinstance(node.get(k), str) for k in ("repository", "image", "version")):
            yield where, f"{node['repository']}/{node['image']}:{node['version']}"
        for key, value in node.items():
            sub = f"{where}.{key}" if where else str(key)
            if isinstance(value, str) and (key == "image" or key.endswith("Image")) and "/" in value:
                if not isinstance(node.get("repository"), str):
                    yield sub, value
            elif not isinstance(value, str):
                yield from object_images(value, sub)
    elif isinstance(node, Sequence) and not isinstance(node, str):
        for index, item in enumerate(node):
            yield from object_images(item, f"{where}[{index}]")


def chart_name(chart: str) -> str:
    """A release's chart as the catalogue names it: `oci://host/path/<name>` or a bare name -> `<name>`."""
    return chart.rstrip("/").rsplit("/", 1)[-1] if chart.startswith("oci://") else chart


def release_images(
    chart: str, version: str, values: Mapping[str, Any], unmirror: Callable[[str], str] = str
) -> list[tuple[str, str]] | None:
    """(values path, reference) for every image a release of `chart` at `version` runs with `values`: the
    release's own settings where it makes them, else the chart's defaults. None where the catalogue has no
    image data for this chart at this version (its images cannot be known here). The one list both the bundle
    manifest and the CrossGuard pack judge."""
    pinned = CHART_IMAGES.get(chart_name(chart))
    if pinned is None or pinned[0] != version:
        return None
    out = []
    for entry in pinned[1]:
        pulled = chart_image(entry, values, unmirror)
        if pulled is not None:
            out.append((entry.path, pulled))
    return out
