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

from aifactory.errors import UserError
from aifactory.render.k8s import images
from aifactory.render.k8s.context import ChartRelease, Ctx, SecretKey, SecretSpec

Values = dict[str, Any]


@dataclass(frozen=True)
class ChartSpec:
    component: str  # flag under mlops.components
    pin: str  # key under software.charts
    charts: tuple[str, ...]  # chart names installed at that pin (KServe ships CRDs and resources apart)
    namespace: str
    values: Callable[[Ctx], Values]
    # "group/Kind" of the CRDs the chart installs (the first of `charts` where there are several): a custom
    # resource of one of these kinds is created after this release and no other (render/k8s/graph.py).
    provides_crds: tuple[str, ...] = ()


def _gpu_operator(ctx: Ctx) -> Values:
    op = images.GPU_OPERATOR["operator"]
    return {
        # The ClusterPolicy is rendered by aifactory (driver pinned, images mirrored), not by the chart.
        "clusterPolicy": {"deployCR": False},
        "operator": {"repository": ctx.image(op[0]), "version": op[2]},
        "validator": {"repository": ctx.image(op[0]), "version": op[2]},
        "driver": {"version": ctx.bp.software.driver or ""},
        "mig": {"strategy": ctx.bp.compute.mig.strategy},
        "node-feature-discovery": {
            "image": {"repository": ctx.image("registry.k8s.io/nfd/node-feature-discovery")}
        },
    }


def _network_operator(ctx: Ctx) -> Values:
    op = images.NETWORK_OPERATOR["operator"]
    return {
        "deployCR": False,  # the NicClusterPolicy comes from the fabric layer
        "operator": {"repository": ctx.image(op[0]), "tag": op[2]},
        "nfd": {"enabled": not ctx.bp.mlops.components.gpu_operator},  # the GPU operator brings NFD
    }


def _dcgm_exporter(ctx: Ctx) -> Values:
    return {
        "image": {"repository": ctx.image("nvcr.io/nvidia/k8s/dcgm-exporter")},
        "serviceMonitor": {"enabled": ctx.bp.mlops.components.prometheus},
    }


def _prometheus(ctx: Ctx) -> Values:
    registry = ctx.image("quay.io").split("/")[0] if ctx.sovereign else ""
    values: Values = {
        "global": {"imageRegistry": f"{registry}/quay.io" if registry else ""},
        "prometheus": {
            "prometheusSpec": {
                "ruleSelectorNilUsesHelmValues": False,
                "serviceMonitorSelectorNilUsesHelmValues": False,
                "externalLabels": {"region": ctx.region},
            }
        },
    }
    # Grafana's admin login comes from a Secret, never the chart's default password or a value in the release.
    grafana: Values = {
        "admin": {"existingSecret": GRAFANA_SECRET, "userKey": "admin-user", "passwordKey": "admin-password"}
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
    return {
        "controllerManager": {"manager": {"image": {"repository": ctx.image("registry.k8s.io/kueue/kueue")}}}
    }


def _trainer(ctx: Ctx) -> Values:
    return {"image": {"repository": ctx.image("ghcr.io/kubeflow/trainer/trainer-controller-manager")}}


def _kserve(ctx: Ctx) -> Values:
    return {
        "kserve": {
            "controller": {"image": ctx.image("docker.io/kserve/kserve-controller")},
            "storage": {"image": ctx.image("docker.io/kserve/storage-initializer")},
        }
    }


def _mlflow(ctx: Ctx) -> Values:
    values: Values = {"image": {"repository": ctx.image("docker.io/burakince/mlflow")}}
    if ctx.telemetry_off:
        values["extraEnvVars"] = {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "1"}
    return values


def _crds(group: str, *kinds: str) -> tuple[str, ...]:
    return tuple(f"{group}/{kind}" for kind in kinds)


def _image_only(upstream: str) -> Callable[[Ctx], Values]:
    return lambda ctx: {"image": {"repository": ctx.image(upstream)}}


CHARTS: tuple[ChartSpec, ...] = (
    ChartSpec(
        "gpu_operator", "gpu-operator", ("gpu-operator",), "gpu-operator", _gpu_operator,
        provides_crds=_crds("nvidia.com", "ClusterPolicy", "NVIDIADriver")
        + _crds("nfd.k8s-sigs.io", "NodeFeature", "NodeFeatureGroup", "NodeFeatureRule"),  # the NFD subchart
    ),
    ChartSpec(
        "network_operator", "network-operator", ("network-operator",), "network-operator", _network_operator,
        provides_crds=_crds("mellanox.com", "HostDeviceNetwork", "IPoIBNetwork", "MacvlanNetwork", "NicClusterPolicy"),
    ),
    ChartSpec("dcgm_exporter", "dcgm-exporter", ("dcgm-exporter",), "monitoring", _dcgm_exporter),
    ChartSpec(
        "prometheus", "kube-prometheus-stack", ("kube-prometheus-stack",), "monitoring", _prometheus,
        provides_crds=_crds(
            "monitoring.coreos.com", "Alertmanager", "AlertmanagerConfig", "PodMonitor", "Probe", "Prometheus",
            "PrometheusAgent", "PrometheusRule", "ScrapeConfig", "ServiceMonitor", "ThanosRuler",
        ),
    ),
    ChartSpec(
        "kueue", "kueue", ("kueue",), "kueue-system", _kueue,
        provides_crds=_crds(
            "kueue.x-k8s.io", "AdmissionCheck", "ClusterQueue", "Cohort", "LocalQueue", "MultiKueueCluster",
            "MultiKueueConfig", "ProvisioningRequestConfig", "ResourceFlavor", "Topology", "Workload",
            "WorkloadPriorityClass",
        ),
    ),
    ChartSpec(
        "volcano", "volcano", ("volcano",), "volcano-system", _image_only("docker.io/volcanosh/vc-scheduler"),
        provides_crds=_crds("batch.volcano.sh", "Job") + _crds("bus.volcano.sh", "Command")
        + _crds("scheduling.volcano.sh", "PodGroup", "Queue") + _crds("flow.volcano.sh", "JobFlow", "JobTemplate"),
    ),
    ChartSpec(
        "kubeflow_trainer", "kubeflow-trainer", ("kubeflow-trainer",), "kubeflow-system", _trainer,
        provides_crds=_crds("trainer.kubeflow.org", "ClusterTrainingRuntime", "TrainJob", "TrainingRuntime"),
    ),
    ChartSpec(
        "kuberay",
        "kuberay-operator",
        ("kuberay-operator",),
        "kuberay-system",
        _image_only("quay.io/kuberay/operator"),
        provides_crds=_crds("ray.io", "RayCluster", "RayJob", "RayService"),
    ),
    ChartSpec(
        "kserve", "kserve", ("kserve-crd", "kserve-resources"), "kserve", _kserve,
        provides_crds=_crds(
            "serving.kserve.io", "ClusterServingRuntime", "ClusterStorageContainer", "InferenceGraph",
            "InferenceService", "LocalModelCache", "LocalModelNode", "LocalModelNodeGroup", "ServingRuntime",
            "TrainedModel",
        ),
    ),
    ChartSpec(
        "nim",
        "k8s-nim-operator",
        ("k8s-nim-operator",),
        "nim-operator",
        _image_only("nvcr.io/nvidia/cloud-native/k8s-nim-operator"),
        provides_crds=_crds("apps.nvidia.com", "NIMBuild", "NIMCache", "NIMPipeline", "NIMService"),
    ),
    ChartSpec("mlflow", "mlflow", ("mlflow",), "mlflow", _mlflow),
)


def enabled_charts(ctx: Ctx) -> list[ChartSpec]:
    flags = ctx.bp.mlops.components
    return [spec for spec in CHARTS if getattr(flags, spec.component)]


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
                    repository=ctx.chart_repository(chart, pin.repository),
                    namespace=spec.namespace,
                    values=values if chart == spec.charts[-1] else {},
                    metadata=ctx.metadata(chart, "mlops", path, spec.namespace),
                    provides_crds=spec.provides_crds if chart == spec.charts[0] else (),
                )
            )
    if missing:
        raise UserError([_unpinned(ctx, spec) for spec in missing])
    return out


def _unpinned(ctx: Ctx, spec: ChartSpec) -> Any:
    from aifactory.errors import Problem

    path = ("mlops", "components", spec.component)
    return Problem(
        ctx.loaded.locate(*path),
        f"component {spec.component!r} is enabled but software.charts has no {spec.pin!r} pin",
        f"pin it: software.charts.{spec.pin}: {{version: ..., repository: ...}} "
        f"(or set mlops.components.{spec.component}: false)",
        ".".join(path),
    )
