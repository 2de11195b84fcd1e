"""Cooling and power layer: PrometheusRule alerts from the cooling and power limits, GPU power policy."""

from __future__ import annotations

from aifactory.render.k8s.pulumi_resources import LayerArgs, LayerComponent


class AlertsArgs(LayerArgs):
    LAYER = "cooling"


class Alerts(LayerComponent):
    TOKEN = "aifactory:cooling:Alerts"
