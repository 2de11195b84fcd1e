"""Fabric layer: the network operator's NicClusterPolicy, NCCL settings and tenant partitions."""

from __future__ import annotations

from aifactory.render.k8s.pulumi_resources import LayerArgs, LayerComponent


class NetworkArgs(LayerArgs):
    LAYER = "fabric"


class Network(LayerComponent):
    TOKEN = "aifactory:fabric:Network"
