"""Evaluation gate (aifactory): `challenger` points the alias at the newest version; `decide` logs the metric
and moves `champion` to the challenger when it meets the threshold and beats the champion."""
import json
import os
import sys

import mlflow
from mlflow import MlflowClient

model = os.environ["AIFACTORY_MODEL"]
metric = os.environ["AIFACTORY_METRIC"]
threshold = float(os.environ["AIFACTORY_THRESHOLD"])
higher = os.environ["AIFACTORY_DIRECTION"] == "higher"
client = MlflowClient()


def better(a, b):
    return a >= b if higher else a <= b


def version_of(alias):
    try:
        return client.get_model_version_by_alias(model, alias)
    except mlflow.exceptions.MlflowException:
        return None


if sys.argv[1] == "challenger":
    newest = max(client.search_model_versions(f"name='{model}'"), key=lambda v: int(v.version))
    client.set_registered_model_alias(model, "challenger", newest.version)
    sys.exit(0)
challenger = version_of("challenger")
with open(os.environ["EVAL_RESULT"]) as f:
    value = float(json.load(f)[metric])
champion = version_of("champion")
held = champion.tags.get(f"aifactory.{metric}") if champion else None
promote = better(value, threshold) and (held is None or better(value, float(held)))
with mlflow.start_run(run_name=os.environ["AIFACTORY_EVAL_NAME"]):
    mlflow.log_metric(metric, value)
    mlflow.log_params({"model": model, "version": challenger.version, "threshold": threshold})
    mlflow.set_tag("aifactory.promoted", str(promote).lower())
client.set_model_version_tag(model, challenger.version, f"aifactory.{metric}", str(value))
if promote:
    client.set_registered_model_alias(model, "champion", challenger.version)
print(json.dumps({"model": model, "version": challenger.version, metric: value, "promoted": promote}))
