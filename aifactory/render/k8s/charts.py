"""Helm releases pinned to `software.charts`, one per enabled component, with values derived from the design.

Only what the blueprint enables is installed; an enabled component without a pin is an error pointing at the
component flag (an unpinned chart is how driver/DCGM mismatches reach production). On a sovereign stack the
chart source and every image registry the values name go through the in-jurisdiction mirror, and vendor
telemetry is switched off.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aifactory.blueprint.storage import Lustre, Vast
from aifactory.errors import UserError
from aifactory.render.k8s import images, partitions
from aifactory.render.k8s.context import ChartRelease, Ctx, SecretKey, SecretSpec
from aifactory.render.k8s.ownership import owner

Values = dict[str, Any]


@dataclass(frozen=True)
class ChartSpec:
    component: str  # flag under mlops.components
    pin: str  # key under software.charts
    charts: tuple[str, ...]  # chart names installed at that pin (KServe ships CRDs and resources apart)
    namespace: str
    values: Callable[[Ctx], Values]
    # Custom resource types ("group/Kind") the release installs: a custom resource of one of them depends on
    # exactly this release (Pulumi depends_on, Flux dependsOn), never on every chart.
    provides_crds: tuple[str, ...] = ()
    # Beyond the component flag: the chart is installed only where this holds (a GPU vendor, a prerequisite).
    when: Callable[[Ctx], bool] = lambda ctx: True
    # CSI driver names the release registers: a StorageClass whose provisioner is one of them waits for it.
    provides_csi: tuple[str, ...] = ()
    # Published by no public chart repository: the pin names the site's own (checked by the loader,
    # `aifactory.blueprint.csi`), and the release pulls from it as it is, mirror or not.
    site_served: bool = False
    # The chart renders the StorageClasses its values' `storageClasses` map names (vastcsi): claims of one of
    # them wait for the release, as they would for a class the storage layer renders.
    renders_classes: bool = False
    # The layer (and Pulumi module) the release belongs to: a CSI driver is the storage layer's, next to the
    # Namespace and Secret it needs and the StorageClass and claims that need it.
    layer: str = "mlops"
    # CRDs the release installs only with some values (a subchart's crds/ under its condition).
    values_crds: Callable[[Values], tuple[str, ...]] = lambda values: ()


def _mirrored(ctx: Ctx, registry: str) -> str:
    """The registry part of a `{registry}/{repository}` image: the upstream registry, or its mirror path."""
    return ctx.image(registry)


def _nvidia(ctx: Ctx) -> bool:
    return ctx.gpu_resource() == "nvidia.com/gpu"


def _amd(ctx: Ctx) -> bool:
    return ctx.gpu_resource() == "amd.com/gpu"


def _gpu_operator(ctx: Ctx) -> Values:
    op = images.GPU_OPERATOR["operator"]
    return {
        # The ClusterPolicy is rendered by aifactory (driver pinned, images mirrored), not by the chart; the
        # operand settings live there, so none are repeated here.
        "clusterPolicy": {"deployCR": False},
        "operator": {"repository": ctx.image(op[0]), "version": op[2]},
        "validator": {"repository": ctx.image(op[0]), "version": op[2]},
        "node-feature-discovery": {
            "image": {"repository": ctx.image(images.NFD[0]), "tag": images.NFD[1]}
        },
    }


def _network_operator(ctx: Ctx) -> Values:
    op, init = images.NETWORK_OPERATOR["operator"], images.NETWORK_OPERATOR["ofedInitContainer"]
    nfd = not ctx.bp.mlops.components.gpu_operator  # the GPU operator brings NFD
    values: Values = {
        # The chart at 26.4.1 renders no NicClusterPolicy: the fabric layer's is the only one.
        "operator": {
            "repository": ctx.image(op[0]),
            "tag": op[2],
            "ofedDriver": {"initContainer": {"repository": ctx.image(init[0]), "version": init[2]}},
        },
        "nfd": {"enabled": nfd},
    }
    if nfd:
        repository, tag = images.NETWORK_OPERATOR_NFD
        values["node-feature-discovery"] = {"image": {"repository": ctx.image(repository), "tag": tag}}
    if partitions.active(ctx):
        # Tenant partitions as pod networks: the SR-IOV network operator subchart carves the rails into VFs
        # (render/k8s/partitions.py), advertised under the prefix the partitions' resources name.
        values["sriovNetworkOperator"] = {"enabled": True}
        values["sriov-network-operator"] = {
            "operator": {"resourcePrefix": partitions.RESOURCE_PREFIX},
            "images": {key: ctx.image(ref) for key, ref in sorted(images.SRIOV_NETWORK_OPERATOR.items())},
        }
    return values


def _network_operator_crds(values: Values) -> tuple[str, ...]:
    # The SR-IOV subchart's crds/ install only with the subchart (Chart.yaml condition sriovNetworkOperator.enabled).
    if values.get("sriovNetworkOperator", {}).get("enabled"):
        return _crds("sriovnetwork.openshift.io", "SriovIBNetwork", "SriovNetwork", "SriovNetworkNodePolicy",
                     "SriovNetworkPoolConfig", "SriovOperatorConfig")  # fmt: skip
    return ()


def _dcgm_exporter(ctx: Ctx) -> Values:
    values: Values = {
        "image": {"repository": ctx.image("nvcr.io/nvidia/k8s/dcgm-exporter")},
        "serviceMonitor": {"enabled": ctx.bp.mlops.components.prometheus},
        # GPU nodes only: the device plugin's label (GPU feature discovery) marks them.
        "nodeSelector": {"nvidia.com/gpu.present": "true"},
    }
    if owner(ctx.bp, "dcgm") == "host":
        # nv-hostengine runs on the host (the dcgm role): the exporter reads it instead of embedding its own.
        values["hostNetwork"] = True
        values["arguments"] = ["-f", "/etc/dcgm-exporter/default-counters.csv", "-r", "localhost:5555"]
    return values


def _prometheus(ctx: Ctx) -> Values:
    """kube-prometheus-stack and its subcharts. Each image names its own registry (quay.io, registry.k8s.io,
    docker.io, ghcr.io), so each is mirrored on its own: one `global.imageRegistry` would send them all to one
    upstream's path on the mirror."""

    def reg(registry: str) -> Values:
        return {"registry": _mirrored(ctx, registry)}

    values: Values = {
        "alertmanager": {"alertmanagerSpec": {"image": reg("quay.io")}},
        "prometheusOperator": {
            "image": reg("quay.io"),
            "prometheusConfigReloader": {"image": reg("quay.io")},
            "thanosImage": reg("quay.io"),
            "admissionWebhooks": {"patch": {"image": reg("ghcr.io")}},
        },
        "prometheus": {
            "prometheusSpec": {
                "image": reg("quay.io"),
                "ruleSelectorNilUsesHelmValues": False,
                "serviceMonitorSelectorNilUsesHelmValues": False,
                "externalLabels": {"region": ctx.region},
            }
        },
        "kube-state-metrics": {
            "image": reg("registry.k8s.io"),
            # kube_node_labels carries the rack labels the cooling rules join GPU metrics to.
            "metricLabelsAllowlist": [f"nodes=[{','.join(NODE_LABELS)}]"],
        },
        "prometheus-node-exporter": {
            "image": reg("quay.io"),
            "permissionInitContainer": {"image": reg("quay.io")},
        },
    }
    # Grafana's admin login comes from a Secret, never the chart's default password or a value in the release.
    grafana: Values = {
        "admin": {"existingSecret": GRAFANA_SECRET, "userKey": "admin-user", "passwordKey": "admin-password"},
        "image": reg("docker.io"),
        "testFramework": {"enabled": False},
        "downloadDashboardsImage": reg("docker.io"),
        "initChownData": {"image": reg("docker.io")},
        "sidecar": {"image": reg("quay.io")},
    }
    if ctx.telemetry_off:
        grafana["grafana.ini"] = {
            "analytics": {
                "reporting_enabled": False,
                "check_for_updates": False,
                "check_for_plugin_updates": False,
            }
        }
    values["grafana"] = grafana
    return values


# Node labels the kube-state-metrics allow-list exports on kube_node_labels (as label_aifactory_io_rack, ...).
# The compute layer's node registration sets them (render/inventory: k8s_node_labels, the kubelet's
# --node-labels), from the design's rack placement.
NODE_LABELS = ("aifactory.io/rack", "aifactory.io/rack-group")

GRAFANA_SECRET = "grafana-admin"
GRAFANA_NS = "monitoring"


def chart_secrets(ctx: Ctx) -> list[SecretSpec]:
    """Secrets the enabled charts' values name: Grafana's admin login (user `admin`, password from the store)."""
    if not ctx.bp.mlops.components.prometheus:
        return []
    path = ("mlops", "grafana_admin_password")
    keys = (SecretKey("admin-password", ctx.bp.mlops.grafana_admin_password.secret, path),)
    meta = ctx.metadata(GRAFANA_SECRET, "mlops", path, GRAFANA_NS)
    return [SecretSpec(GRAFANA_SECRET, GRAFANA_NS, keys, meta, plain=(("admin-user", "admin"),))]


def _kueue(ctx: Ctx) -> Values:
    pin = ctx.bp.software.charts["kueue"].version
    image = {"repository": ctx.image("registry.k8s.io/kueue/kueue"), "tag": f"v{pin.removeprefix('v')}"}
    return {"controllerManager": {"manager": {"image": image}}}


def _trainer(ctx: Ctx) -> Values:
    # The chart builds `{registry}/{repository}:{tag}`: the mirror goes in `registry` alone.
    return {
        "image": {"registry": _mirrored(ctx, "ghcr.io"), "repository": "kubeflow/trainer/trainer-controller-manager"},
        "jobset": {"image": {"repository": ctx.image(images.JOBSET[0]), "tag": images.JOBSET[1]}},
        "runtimes": {
            # No built-in runtime is enabled: render/k8s/training.py owns the `torch-distributed` runtime, and
            # the chart's post-install job applying its own of that name would fight it on every upgrade.
            "installer": {"image": {"registry": _mirrored(ctx, "docker.io")}},
            "torchtuneDistributed": {"image": {"registry": _mirrored(ctx, "ghcr.io")}},
        },
    }


def _kserve(ctx: Ctx) -> Values:
    """RawDeployment mode: plain Deployments and Services, so neither Knative nor Istio is needed; the
    webhooks' certificates come from cert-manager (installed with KServe)."""
    return {
        "kserve": {
            "controller": {
                "deploymentMode": "RawDeployment",
                "image": ctx.image("docker.io/kserve/kserve-controller"),
                "rbacProxyImage": ctx.image(images.KSERVE_RBAC_PROXY),
                "gateway": {"disableIstioVirtualHost": True, "disableIngressCreation": True},
            },
            "agent": {"image": ctx.image("docker.io/kserve/agent")},
            "router": {"image": ctx.image("docker.io/kserve/router")},
            "storage": {"image": ctx.image("docker.io/kserve/storage-initializer")},
            "servingruntime": {"art": {"image": ctx.image("docker.io/kserve/art-explainer")}},
        }
    }


def _cert_manager(ctx: Ctx) -> Values:
    # Every cert-manager image is quay.io/jetstack/<name>: the chart's registry prefix covers them all.
    return {"crds": {"enabled": True}, "imageRegistry": _mirrored(ctx, "quay.io")}


def _needs_cert_manager(ctx: Ctx) -> bool:
    """KServe's webhooks and the AMD operator's KMM/webhooks take their certificates from cert-manager."""
    flags = ctx.bp.mlops.components
    return flags.kserve or (flags.gpu_operator and _amd(ctx))


def _amd_gpu_operator(ctx: Ctx) -> Values:
    """AMD GPU operator: device plugin, node labeller and the device-metrics-exporter come from the
    DeviceConfig the operators layer renders; the amdgpu driver is the host's (ROCm), so KMM is off."""
    op = images.AMD_GPU_OPERATOR["operator"]
    return {
        "controllerManager": {"manager": {"image": {"repository": ctx.image(op[0]), "tag": op[1]}}},
        "crds": {"defaultCR": {"install": False}},
        "kmm": {"enabled": False},
        "remediation": {"enabled": False},
        "node-feature-discovery": {"image": {"repository": ctx.image(images.NFD[0]), "tag": images.NFD[1]}},
    }


def _mlflow(ctx: Ctx) -> Values:
    values: Values = {
        "image": {"repository": ctx.image("docker.io/burakince/mlflow")},
        "initImages": {
            "dbchecker": {"repository": ctx.image("docker.io/library/busybox")},
            "mlflowDbMigration": {"repository": ctx.image("docker.io/burakince/mlflow")},
            "iniFileInitializer": {"repository": ctx.image("docker.io/library/busybox")},
        },
    }
    if ctx.telemetry_off:
        values["extraEnvVars"] = {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "1"}
    return values


def _volcano(ctx: Ctx) -> Values:
    # Every Volcano image is `{basic.image_registry}/volcanosh/vc-*`.
    return {"basic": {"image_registry": _mirrored(ctx, "docker.io")}}


def _kuberay(ctx: Ctx) -> Values:
    return {"image": {"repository": ctx.image("quay.io/kuberay/operator")}}


def _nim(ctx: Ctx) -> Values:
    return {"operator": {"image": {"repository": ctx.image("ghcr.io/nvidia/k8s-nim-operator")}}}


def _filesystem(kind: str) -> Callable[[Ctx], bool]:
    """The storage layer's StorageClass is the blueprint file system's: its CSI driver is installed with it."""
    return lambda ctx: ctx.bp.storage.filesystem.type == kind


def _csi_nfs(ctx: Ctx) -> Values:
    # The chart builds the sidecars as `{baseRepo}{repository}` (repository `/sig-storage/...`); the plugin's
    # own repository is a whole reference, and the templates use it as is when it does not start with a `/`.
    return {
        "image": {
            "baseRepo": _mirrored(ctx, "registry.k8s.io"),
            "nfs": {"repository": ctx.image("registry.k8s.io/sig-storage/nfsplugin")},
        }
    }


def _csi_weka(ctx: Ctx) -> Values:
    sidecars = {name: f"{ctx.image(ref)}:{tag}" for name, (ref, tag) in images.WEKA_CSI_SIDECARS.items()}
    return {"images": {**sidecars, "csidriver": ctx.image(images.WEKA_CSI_DRIVER)}}


def _csi_exa(ctx: Ctx) -> Values:
    """DDN EXAScaler: the driver reads the file systems it may mount from its config Secret (the chart writes
    `config` into it). The one entry is the blueprint's file system, under the chart's own key `exa1` so that
    Helm's merge keeps no example file system; the example's `zone` is dropped (null deletes a default), since
    no node carries its topology label."""
    fs = ctx.bp.storage.filesystem
    assert isinstance(fs, Lustre)
    values: Values = {
        key: {"repository": ctx.image(repository), "tag": tag} for key, (repository, tag) in images.EXA_CSI.items()
    }
    values["config"] = {
        "exascaler_map": {"exa1": {"exaFS": f"{fs.mgs_nid}:/{fs.fs_name}", "mountPoint": fs.mount, "zone": None}},
        "debug": False,
    }
    return values


def _csi_vast(ctx: Ctx) -> Values:
    """VAST: the driver logs in to the VMS with the Secret the storage layer renders, and the chart renders the
    file system's StorageClass (see `storage.chart_owns_class`) with the parameters the storage layer's would
    have: root_export, view_policy, vip_pool_name; Retain, expandable."""
    from aifactory.render.k8s.storage import VAST_SECRET, class_name

    fs = ctx.bp.storage.filesystem
    assert isinstance(fs, Vast)
    image = {key: {"repository": ctx.image(ref), "tag": tag} for key, (ref, tag) in images.VAST_CSI.items()}
    storage_class = {
        "storagePath": fs.root_export,
        "viewPolicy": fs.view_policy,
        "vipPool": fs.vip_pool_name,
        "reclaimPolicy": "Retain",
        "allowVolumeExpansion": True,
    }
    return {
        "endpoint": fs.vms_endpoint,
        "secretName": VAST_SECRET,
        "image": image,
        "storageClasses": {class_name(ctx): storage_class},
    }


def _crds(group: str, *kinds: str) -> tuple[str, ...]:
    return tuple(f"{group}/{kind}" for kind in kinds)


CHARTS: tuple[ChartSpec, ...] = (
    ChartSpec(
        "",  # no flag of its own: installed where a chart that needs it is
        "cert-manager",
        ("cert-manager",),
        "cert-manager",
        _cert_manager,
        ("cert-manager.io/Certificate", "cert-manager.io/Issuer", "cert-manager.io/ClusterIssuer"),
        _needs_cert_manager,
    ),
    ChartSpec(
        "gpu_operator",
        "gpu-operator",
        ("gpu-operator",),
        "gpu-operator",
        _gpu_operator,
        _crds("nvidia.com", "ClusterPolicy", "NVIDIADriver")
        + _crds("nfd.k8s-sigs.io", "NodeFeature", "NodeFeatureGroup", "NodeFeatureRule"),  # the NFD subchart,
        _nvidia,
    ),
    ChartSpec(
        "gpu_operator",
        "amd-gpu-operator",
        ("gpu-operator-charts",),
        "kube-amd-gpu",
        _amd_gpu_operator,
        ("amd.com/DeviceConfig", "nfd.k8s-sigs.io/NodeFeatureRule"),
        _amd,
    ),
    ChartSpec(
        "network_operator",
        "network-operator",
        ("network-operator",),
        "network-operator",
        _network_operator,
        (
            *_crds("mellanox.com", "HostDeviceNetwork", "IPoIBNetwork", "MacvlanNetwork", "NicClusterPolicy"),
            "k8s.cni.cncf.io/NetworkAttachmentDefinition",  # the chart's crds/ (Multus's network CRD)
        ),
        values_crds=_network_operator_crds,
    ),
    ChartSpec("dcgm_exporter", "dcgm-exporter", ("dcgm-exporter",), "monitoring", _dcgm_exporter, (), _nvidia),
    ChartSpec(
        "prometheus",
        "kube-prometheus-stack",
        ("kube-prometheus-stack",),
        "monitoring",
        _prometheus,
        _crds(
            "monitoring.coreos.com", "Alertmanager", "AlertmanagerConfig", "PodMonitor", "Probe", "Prometheus",
            "PrometheusAgent", "PrometheusRule", "ScrapeConfig", "ServiceMonitor", "ThanosRuler",
        ),
    ),
    ChartSpec(
        "kueue",
        "kueue",
        ("kueue",),
        "kueue-system",
        _kueue,
        _crds(
            "kueue.x-k8s.io", "AdmissionCheck", "ClusterQueue", "Cohort", "LocalQueue", "MultiKueueCluster",
            "MultiKueueConfig", "ProvisioningRequestConfig", "ResourceFlavor", "Topology", "Workload",
            "WorkloadPriorityClass",
        ),
    ),
    ChartSpec(
        "volcano",
        "volcano",
        ("volcano",),
        "volcano-system",
        _volcano,
        _crds("batch.volcano.sh", "Job")
        + _crds("bus.volcano.sh", "Command")
        + _crds("scheduling.volcano.sh", "PodGroup", "Queue")
        + _crds("flow.volcano.sh", "JobFlow", "JobTemplate"),
    ),
    ChartSpec(
        "kubeflow_trainer",
        "kubeflow-trainer",
        ("kubeflow-trainer",),
        "kubeflow-system",
        _trainer,
        _crds("trainer.kubeflow.org", "ClusterTrainingRuntime", "TrainJob", "TrainingRuntime")
        + _crds("jobset.x-k8s.io", "JobSet"),  # the JobSet subchart
    ),
    ChartSpec(
        "kuberay", "kuberay-operator", ("kuberay-operator",), "kuberay-system", _kuberay,
        _crds("ray.io", "RayCluster", "RayJob", "RayService"),
    ),
    ChartSpec(
        "kserve",
        "kserve",
        ("kserve-crd", "kserve-resources"),
        "kserve",
        _kserve,
        _crds(
            "serving.kserve.io", "ClusterServingRuntime", "ClusterStorageContainer", "InferenceGraph",
            "InferenceService", "LocalModelCache", "LocalModelNode", "LocalModelNodeGroup", "ServingRuntime",
            "TrainedModel",
        ),
    ),
    ChartSpec(
        "nim", "k8s-nim-operator", ("k8s-nim-operator",), "nim-operator", _nim,
        _crds("apps.nvidia.com", "NIMBuild", "NIMCache", "NIMPipeline", "NIMService"),
    ),
    ChartSpec("mlflow", "mlflow", ("mlflow",), "mlflow", _mlflow),
    # The file system's CSI driver (no flag: the storage layer's StorageClass needs it). The charts' own
    # install namespaces: kube-system for csi-driver-nfs, csi-wekafs (rendered by the storage layer) for WEKA.
    ChartSpec(
        "", "csi-driver-nfs", ("csi-driver-nfs",), "kube-system", _csi_nfs, when=_filesystem("nfs"),
        provides_csi=("nfs.csi.k8s.io",), layer="storage",
    ),
    ChartSpec(
        "", "csi-wekafsplugin", ("csi-wekafsplugin",), "csi-wekafs", _csi_weka, when=_filesystem("weka"),
        provides_csi=("csi.weka.io",), layer="storage",
    ),
    # DDNStorage/exa-csi-driver keeps its chart in the source tree (deploy/helm-chart, chart `exa-csi`): the
    # site pushes it to its own Helm repository; the README installs it in a namespace of the user's choice.
    ChartSpec(
        "", "exa-csi", ("exa-csi",), "kube-system", _csi_exa, when=_filesystem("lustre"),
        provides_csi=("exa.csi.ddn.com",), site_served=True, layer="storage",
    ),
    # vast-data/vast-csi: next to the VMS login Secret, in the namespace its README installs it in.
    ChartSpec(
        "", "vastcsi", ("vastcsi",), "vast-csi", _csi_vast, when=_filesystem("vast"),
        provides_csi=("csi.vastdata.com",), renders_classes=True, layer="storage",
    ),
)


def enabled_charts(ctx: Ctx) -> list[ChartSpec]:
    flags = ctx.bp.mlops.components
    return [spec for spec in CHARTS if (not spec.component or getattr(flags, spec.component)) and spec.when(ctx)]


def releases(ctx: Ctx) -> list[ChartRelease]:
    out: list[ChartRelease] = []
    missing = []
    for spec in enabled_charts(ctx):
        pin = ctx.bp.software.charts.get(spec.pin)
        if pin is None:
            missing.append(spec)
            continue
        path = ("software", "charts", spec.pin, "version")
        values = spec.values(ctx)
        for chart in spec.charts:
            out.append(
                ChartRelease(
                    name=chart,
                    chart=chart,
                    version=pin.version,
                    repository=pin.repository if spec.site_served else ctx.chart_repository(chart, pin.repository),
                    namespace=spec.namespace,
                    values=values if chart == spec.charts[-1] else {},
                    metadata=ctx.metadata(chart, spec.layer, path, spec.namespace),
                    layer=spec.layer,
                    provides_crds=spec.provides_crds + spec.values_crds(values) if chart == spec.charts[0] else (),
                    provides_csi=spec.provides_csi if chart == spec.charts[-1] else (),
                    provides_classes=tuple(sorted(values["storageClasses"])) if spec.renders_classes else (),
                )
            )
    if missing:
        raise UserError([_unpinned(ctx, spec) for spec in missing])
    return out


def _unpinned(ctx: Ctx, spec: ChartSpec) -> Any:
    from aifactory.errors import Problem

    path = ("mlops", "components", spec.component) if spec.component else ("software", "charts")
    what = f"component {spec.component!r} is enabled" if spec.component else f"a component needs {spec.pin}"
    if spec.provides_csi:
        what = f"the StorageClass's CSI driver {', '.join(spec.provides_csi)} is installed by chart {spec.pin}"
    alternative = f" (or set mlops.components.{spec.component}: false)" if spec.component else ""
    if spec.site_served:
        alternative = " with repository: the url of this site's `kind: helm` mirror, where the chart is pushed"
    return Problem(
        ctx.loaded.locate(*path),
        f"{what} but software.charts has no {spec.pin!r} pin",
        f"pin it: software.charts.{spec.pin}: {{version: ..., repository: ...}}{alternative}",
        ".".join(path),
    )
