"""MLOps layer: namespaces, tenants (ResourceQuota, Kueue queues), the GPU operator's ClusterPolicy, the
KServe serving runtime, and the pinned Helm releases of every enabled platform component."""

from __future__ import annotations

from aifactory.render.k8s.pulumi_resources import LayerArgs, LayerComponent


class PlatformArgs(LayerArgs):
    LAYER = "mlops"


class Platform(LayerComponent):
    TOKEN = "aifactory:mlops:Platform"
