#!/bin/sh
# Training windows from blueprints/signals/day-ahead-example.csv (price: the 6 cheapest hours of each day), rendered by
# aifactory from blueprints/b200-spectrum-x.yaml (cooling.energy_signal). Flexible training jobs name these reservations.
set -eu
scontrol create reservation ReservationName=aif-train-20261204T00 StartTime=2026-12-04T00:00:00 Duration=06:00:00 PartitionName=train Nodes=b[200001-200032] Users=root Flags=FLEX
