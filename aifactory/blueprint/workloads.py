"""Workloads (`mlops.workloads`): what the factory produces, from the same definitions for Slurm and Kubernetes.

A training job, an evaluation that gates a model into the registry, a serving deployment with a canary share and
a token-throughput benchmark against it. The models hold what the user states; defaults that depend on the rest
of the design (GPUs per node from the node SKU, the orchestrator each runs on, the tenant) and the checks
against it (nodes and GPUs that exist, names that resolve) are aifactory.design.workloads'.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from aifactory.blueprint.base import StrictModel
from aifactory.blueprint.site import Name

MAX_WORKLOADS = 64
# A model reference as registries and hubs write it: 'meta-llama/Llama-3.1-8B', 'gpt2', 'mistral-7b-v0.3'.
ModelId = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}(/[A-Za-z0-9][A-Za-z0-9._-]{0,95})?$")
]
# Where data or a model lives: an object-store or file URI, or an absolute path on the shared file system.
DataUri = Annotated[
    str, StringConstraints(pattern=r"^((s3|gs|hf|pvc|file)://[A-Za-z0-9._~%+/=-]+|/[A-Za-z0-9._~%+/=-]+)$")
]
# A script and its arguments, run in the job's image: no shell metacharacters (the renderers quote nothing).
Argument = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._/=:,+@%-]{1,256}$")]
SlurmTime = Annotated[str, StringConstraints(pattern=r"^([0-9]+-)?[0-9]{1,2}:[0-9]{2}:[0-9]{2}$")]
OrchestratorName = Literal["slurm", "kubernetes"]
Engine = Literal["vllm", "kserve"]


class _Workload(StrictModel):
    name: Name = Field(description="Name of the workload (a DNS-1123 label); jobs, services and MLflow runs carry it.")
    orchestrator: OrchestratorName | None = Field(
        None,
        description="Where it runs: 'slurm' or 'kubernetes'; default: the blueprint's orchestrator (with "
        "both: training and evaluation on Slurm, serving and benchmarks on Kubernetes).",
    )
    tenant: Name | None = Field(
        None, description="Tenant it runs for (its Kubernetes namespace and Kueue queue); default: the first tenant."
    )


class TrainingJob(_Workload):
    """A distributed training run: torchrun on every node, one process per GPU."""

    model: ModelId = Field(description="Name the trained model is registered under in MLflow, e.g. 'llama-8b-sft'.")
    data: DataUri = Field(description="Training data: 's3://bucket/prefix', 'pvc://claim/path' or '/shared/path'.")
    script: Argument = Field("train.py", description="Training entry point torchrun starts on every node.")
    args: Annotated[list[Argument], Field(max_length=64)] = Field(
        default_factory=list, description="Arguments after the script."
    )
    nodes: Annotated[int, Field(ge=1, le=100_000)] = Field(
        1, description="Nodes the job spans; at most the nodes its orchestrator has."
    )
    gpus_per_node: Annotated[int, Field(ge=1, le=72)] | None = Field(
        None, description="GPUs (torchrun processes) per node; default: all of the node SKU's GPUs."
    )
    time_limit: SlurmTime = Field("1-00:00:00", description="Longest run time, e.g. '1-00:00:00' (Slurm --time).")
    flexible: bool = Field(
        False,
        description="May wait for the cheap hours of the energy signal (cooling.energy_signal): it runs in "
        "the rendered training reservation.",
    )


class Evaluation(_Workload):
    """An evaluation of a trained model: it logs the metric and promotes the model when it passes."""

    training: Name = Field(description="Training job whose model this evaluates (its `name`).")
    data: DataUri = Field(description="Held-out evaluation data.")
    script: Argument = Field(
        "evaluate.py", description="Entry point; it writes {metric: value} as JSON to $EVAL_RESULT."
    )
    metric: Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")] = Field(
        description="MLflow metric the gate reads, e.g. 'perplexity' or 'accuracy'."
    )
    threshold: float = Field(description="Value the metric must reach for the model to become `champion`.")
    direction: Literal["higher", "lower"] = Field(
        "higher", description="Which way is better: 'higher' (accuracy) or 'lower' (loss, perplexity)."
    )


class Serving(_Workload):
    """An inference deployment of a registered model, with a share of traffic for the challenger."""

    model: ModelId = Field(description="Registered model to serve: the `champion` alias, the challenger in canary.")
    storage_uri: DataUri | None = Field(
        None,
        description="Kubernetes: where KServe loads the champion's weights from (s3://, pvc://, hf://). Slurm "
        "serves the registry's alias itself (downloaded from MLflow when the service starts).",
    )
    canary_storage_uri: DataUri | None = Field(
        None, description="Kubernetes: the challenger's weights, served to canary_percent of requests."
    )
    engine: Engine = Field(
        "vllm",
        description="Inference server: 'vllm' (vLLM's OpenAI API, tensor parallel over the replica's GPUs) or "
        "'kserve' (KServe's Python model server, V1 protocol, running aifactory's byte-level language model "
        "runtime aifactory.tinylm on CPU or GPU; it follows the registry alias itself; Slurm only).",
    )
    replicas: Annotated[int, Field(ge=1, le=10_000)] = Field(1, description="Serving replicas (Slurm: one per node).")
    gpus: Annotated[int, Field(ge=0, le=72)] = Field(
        1,
        description="GPUs per replica (vLLM tensor parallel size); at most the node SKU's GPUs; 0 (CPU) only "
        "with engine kserve.",
    )
    latency_p99_ms: Annotated[int, Field(ge=1, le=3_600_000)] | None = Field(
        None,
        description="Objective for the 99th percentile of request latency in milliseconds: the rendered "
        "Prometheus alert fires when the deployment's p99 over 5 minutes exceeds it (Slurm).",
    )
    canary_percent: Annotated[int, Field(ge=0, le=100)] = Field(
        0, description="Share of requests (0-100) the challenger gets; 0: no canary."
    )
    nodes: Annotated[list[Name], Field(max_length=10_000)] = Field(
        default_factory=list,
        description="Slurm: compute hosts that run the service (one replica each); default: "
        "the last `replicas` compute nodes.",
    )
    port: Annotated[int, Field(ge=1024, le=65535)] = Field(
        8000, description="HTTP port (the engine's API and /metrics)."
    )


class Benchmark(_Workload):
    """A token-throughput benchmark of a serving deployment, random prompts (vLLM's `vllm bench serve`; for
    engine kserve aifactory.tinylm.loadgen)."""

    serving: Name = Field(description="Serving deployment it measures (its `name`).")
    prompt_tokens: Annotated[int, Field(ge=1, le=1_000_000)] = Field(1024, description="Input length per request.")
    output_tokens: Annotated[int, Field(ge=1, le=1_000_000)] = Field(256, description="Output length per request.")
    concurrency: Annotated[int, Field(ge=1, le=100_000)] = Field(32, description="Requests in flight at once.")
    requests: Annotated[int, Field(ge=1, le=10_000_000)] = Field(512, description="Requests in all.")


class Workloads(StrictModel):
    """The factory's workloads; every list may be empty."""

    experiment: Name | None = Field(
        None, description="MLflow experiment the runs log to; default: the blueprint's name."
    )
    training: Annotated[list[TrainingJob], Field(max_length=MAX_WORKLOADS)] = Field(
        default_factory=list, description="Training jobs."
    )
    evaluations: Annotated[list[Evaluation], Field(max_length=MAX_WORKLOADS)] = Field(
        default_factory=list, description="Evaluations, each of one training job's model."
    )
    serving: Annotated[list[Serving], Field(max_length=MAX_WORKLOADS)] = Field(
        default_factory=list, description="Serving deployments."
    )
    benchmarks: Annotated[list[Benchmark], Field(max_length=MAX_WORKLOADS)] = Field(
        default_factory=list, description="Token-throughput benchmarks."
    )
