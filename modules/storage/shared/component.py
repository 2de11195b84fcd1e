"""Storage layer: CSI storage class and tenant volumes on the parallel file system, in-jurisdiction MinIO."""

from __future__ import annotations

from aifactory.render.k8s.pulumi_resources import LayerArgs, LayerComponent


class SharedArgs(LayerArgs):
    LAYER = "storage"


class Shared(LayerComponent):
    TOKEN = "aifactory:storage:Shared"
