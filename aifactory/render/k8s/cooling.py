"""Cooling and power layer: Prometheus alert rules from the blueprint's thermal and power limits, and the GPU
power policy the compute layer applies (published in-cluster for schedulers and burn-in)."""

from __future__ import annotations

from typing import Any

from aifactory.blueprint.types import format_power
from aifactory.catalog import get_catalog
from aifactory.design.placement import rack_budget
from aifactory.render.k8s.context import Ctx, Manifest

MONITORING_NS = "monitoring"
# Exporter metric and label names. NVIDIA dcgm-exporter 4.8.2 (etc/default-counters.csv; labels `Hostname`,
# the node name from NODE_NAME, and `gpu`, the index); AMD device-metrics-exporter v1.5.1
# (docs/configuration/metricslist.md: GPU_PACKAGE_POWER on MI3xx, GPU_JUNCTION_TEMPERATURE; labels `hostname`,
# `gpu_id`).
METRICS = {
    "nvidia.com/gpu": {
        "temp": "DCGM_FI_DEV_GPU_TEMP", "power": "DCGM_FI_DEV_POWER_USAGE", "host": "Hostname", "gpu": "gpu",
    },
    "amd.com/gpu": {
        "temp": "gpu_junction_temperature", "power": "gpu_package_power", "host": "hostname", "gpu": "gpu_id",
    },
}
# kube-state-metrics' kube_node_labels, with the node labels the kube-prometheus-stack values allow
# (charts.NODE_LABELS): `aifactory.io/rack` -> `label_aifactory_io_rack`.
RACK = "label_aifactory_io_rack"
RACK_GROUP = "label_aifactory_io_rack_group"


def _per_rack(metric: dict[str, str], group: str) -> str:
    """GPU power joined to the rack labels of the node it was measured on (node name = exporter host label)."""
    host = metric["host"]
    nodes = f'label_replace(kube_node_labels{{{RACK_GROUP}="{group}"}}, "{host}", "$1", "node", "(.+)")'
    return (
        f"sum by ({RACK}) ({metric['power']} * on ({host}) group_left ({RACK}, {RACK_GROUP}) "
        f"max by ({host}, {RACK}, {RACK_GROUP}) ({nodes}))"
    )


def cooling_objects(ctx: Ctx) -> list[Manifest]:
    out = [prometheus_rule(ctx)] if ctx.bp.mlops.components.prometheus else []
    if ctx.bp.mlops.components.gpu_operator:
        out.append(power_policy(ctx))
    return out


def gpu_power_cap(ctx: Ctx) -> float:
    """Per-GPU limit: the blueprint's cap, else the GPU's TDP from the catalogue."""
    if ctx.bp.compute.gpu_power_cap:
        return ctx.bp.compute.gpu_power_cap
    sku = get_catalog().nodes[ctx.bp.compute.node_sku]
    return get_catalog().gpus[sku.gpu].tdp_w if sku.gpus else 0.0


def _gpu_fraction(ctx: Ctx) -> float:
    """Share of a node's maximum power that its GPUs draw at their cap: scales rack and facility budgets
    down to what the GPU exporter can see."""
    sku = get_catalog().nodes[ctx.bp.compute.node_sku]
    return min(1.0, sku.gpus * gpu_power_cap(ctx) / sku.max_power_w) if sku.max_power_w else 1.0


def _rule(name: str, expr: str, minutes: int, severity: str, summary: str) -> dict[str, Any]:
    return {
        "alert": name,
        "expr": expr,
        "for": f"{minutes}m",
        "labels": {"severity": severity},
        "annotations": {"summary": summary},
    }


def prometheus_rule(ctx: Ctx) -> Manifest:
    metric = METRICS[ctx.gpu_resource()]
    cap = gpu_power_cap(ctx)
    rules = [
        _rule(
            "GpuPowerOverCap",
            f"max by ({metric['host']}, {metric['gpu']}) ({metric['power']}) > {cap:g}",
            5,
            "warning",
            f"GPU draws more than its {format_power(cap)} cap",
        )
    ]
    limit = ctx.bp.acceptance.max_gpu_temp_c
    if limit is not None:
        rules.append(
            _rule(
                "GpuTemperatureHigh",
                f"max by ({metric['host']}, {metric['gpu']}) ({metric['temp']}) > {limit:g}",
                2,
                "critical",
                f"GPU above the {limit:g} C acceptance limit",
            )
        )
    for group in ctx.bp.cooling.rack_groups:
        if "compute" not in group.holds:
            continue
        budget = rack_budget(group) * _gpu_fraction(ctx)
        rules.append(
            _rule(
                f"RackGpuPowerOverBudget{group.name.title().replace('-', '')}",
                f"{_per_rack(metric, group.name)} > {budget:g}",
                10,
                "warning",
                f"GPU power in a {group.name} rack exceeds its share of the {format_power(group.capacity)} "
                f"{group.type} cooling capacity",
            )
        )
    it_budget = ctx.bp.cooling.facility_power / ctx.bp.cooling.pue_target * _gpu_fraction(ctx)
    rules.append(
        _rule(
            "FacilityGpuPowerOverBudget",
            f"sum({metric['power']}) > {it_budget:g}",
            10,
            "critical",
            f"GPU power exceeds its share of the {format_power(ctx.bp.cooling.facility_power)} "
            f"facility budget at PUE {ctx.bp.cooling.pue_target:g}",
        )
    )
    spec = {"groups": [{"name": "aifactory-cooling-power", "rules": rules}]}
    return ctx.obj(
        "monitoring.coreos.com/v1",
        "PrometheusRule",
        "aifactory-cooling",
        "cooling",
        ("cooling",),
        MONITORING_NS,
        spec=spec,
    )


def power_policy(ctx: Ctx) -> Manifest:
    data = {
        "gpu_power_cap_w": f"{gpu_power_cap(ctx):g}",
        "mig_enabled": str(ctx.bp.compute.mig.enabled).lower(),
        "mig_strategy": ctx.bp.compute.mig.strategy,
    }
    path = ("compute", "gpu_power_cap") if ctx.bp.compute.gpu_power_cap else ("compute", "node_sku")
    namespace = "kube-amd-gpu" if ctx.gpu_resource() == "amd.com/gpu" else "gpu-operator"
    return ctx.obj("v1", "ConfigMap", "gpu-power-policy", "cooling", path, namespace, data=data)
