"""Benchmark results (aifactory): the `vllm bench serve` result files of one run, summed, logged to MLflow."""
import json
import os
import pathlib
import sys

import mlflow

results = [json.loads(p.read_text()) for p in sorted(pathlib.Path(sys.argv[1]).glob("*.json"))]
metrics = {
    "output_tokens_per_s": sum(r["output_throughput"] for r in results),
    "requests_per_s": sum(r["request_throughput"] for r in results),
    "p50_ttft_ms": max(r["median_ttft_ms"] for r in results),
    "p99_ttft_ms": max(r["p99_ttft_ms"] for r in results),
    "p50_itl_ms": max(r["median_itl_ms"] for r in results),
    "p99_itl_ms": max(r["p99_itl_ms"] for r in results),
}
with mlflow.start_run(run_name=os.environ.get("AIFACTORY_BENCH_NAME", "benchmark")):
    mlflow.log_metrics(metrics)
print(json.dumps(metrics, sort_keys=True))
