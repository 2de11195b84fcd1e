"""Train the lab's language model across nodes (torchrun starts one process per node, gloo on CPU, NCCL on GPUs)
and register it in MLflow as a new version of the model the job names (`AIFACTORY_MODEL`).

    torchrun ... train.py --data /shared/datasets/tinytext [--steps N] [--init-from models:/NAME@champion]

Every process draws its own batches (seeded by rank and step) and DDP averages the gradients. `--init-from`
starts from a registered version (the successor of continuous iteration fine-tunes the champion on the data that
has arrived since); without it the model starts from random weights. The first process logs the run (parameters,
loss curve, training time and throughput, the model's files) and creates the registry version; the evaluation
gate decides what the version becomes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from aifactory.tinylm import model as lm


def _args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="aifactory.tinylm.train")
    ap.add_argument("--data", default=os.environ.get("AIFACTORY_DATA", ""), help="train-*.txt folder or a file")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--batch", type=int, default=32, help="sequences per process and step")
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--init-from", default="", help="a registry URI (models:/NAME@ALIAS) to start from")
    ap.add_argument("--out", default="", help="also save the model here (without MLflow, for tests)")
    return ap.parse_args(argv)


def _download(uri: str) -> Path:
    import mlflow

    return Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=tempfile.mkdtemp(prefix="tinylm-")))


def train(args: argparse.Namespace) -> dict[str, object]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    if world > 1:
        dist.init_process_group("gloo")
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    net = lm.load(_download(args.init_from)) if args.init_from else lm.TinyLM(lm.Config())
    net.train()
    step_net = DistributedDataParallel(net) if world > 1 else net
    data = lm.corpus(Path(args.data))
    span = net.config.context + 1
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=0.01)
    gen = torch.Generator().manual_seed(args.seed * 1000 + rank)
    losses: list[float] = []
    started = time.monotonic()
    for _step in range(args.steps):
        starts = torch.randint(0, len(data) - span, (args.batch,), generator=gen)
        batch = torch.stack([data[s : s + span] for s in starts.tolist()])
        logits = step_net(batch[:, :-1])
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, lm.VOCAB), batch[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        opt.step()
        losses.append(loss.item())
    seconds = time.monotonic() - started
    tail = losses[-20:] or [float("nan")]
    summary: dict[str, object] = {
        "steps": args.steps,
        "processes": world,
        "train_loss": round(sum(tail) / len(tail), 4),
        "train_seconds": round(seconds, 2),
        "train_tokens_per_s": round(args.steps * args.batch * (span - 1) * world / seconds, 1) if seconds else 0.0,
        "parameters": lm.parameters(net),
        "data_bytes": len(data),
    }
    if rank == 0:
        if args.out:
            lm.save(net, Path(args.out))
        if os.environ.get("MLFLOW_TRACKING_URI"):
            summary["version"] = _register(net, args, losses, summary)
        print(json.dumps(summary, sort_keys=True), flush=True)
    if world > 1:
        dist.barrier()
        dist.destroy_process_group()
    return summary


def _register(net: lm.TinyLM, args: argparse.Namespace, losses: list[float], summary: dict[str, object]) -> str:
    import mlflow
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    name = os.environ.get("AIFACTORY_MODEL", "tinylm")
    data = Path(args.data)
    parts = sorted(p.name for p in data.glob("train-*.txt")) if data.is_dir() else [data.name]
    client = MlflowClient()
    with mlflow.start_run(run_name=os.environ.get("SLURM_JOB_NAME", "train")) as run:
        mlflow.log_params(
            {
                "steps": args.steps,
                "batch": args.batch,
                "lr": args.lr,
                "seed": args.seed,
                "init_from": args.init_from or "scratch",
                "data": ",".join(parts),
                "processes": summary["processes"],
                "slurm_job_id": os.environ.get("SLURM_JOB_ID", ""),
            }
        )
        for i in range(0, len(losses), 10):
            mlflow.log_metric("loss", losses[i], step=i)
        figures = ("train_loss", "train_seconds", "train_tokens_per_s", "parameters", "data_bytes")
        mlflow.log_metrics({k: float(summary[k]) for k in figures})  # type: ignore[arg-type]
        with tempfile.TemporaryDirectory() as tmp:
            lm.save(net, Path(tmp) / "model")
            mlflow.log_artifacts(str(Path(tmp) / "model"), artifact_path="model")
        source = f"{run.info.artifact_uri}/model"
    try:
        client.create_registered_model(name, description="aifactory lab: byte-level causal transformer")
    except MlflowException as err:
        if "RESOURCE_ALREADY_EXISTS" not in str(err.error_code):
            raise
    version = client.create_model_version(
        name, source, run_id=run.info.run_id,
        tags={"aifactory.data": ",".join(parts), "aifactory.init_from": args.init_from or "scratch"},
    )  # fmt: skip
    return str(version.version)


def main(argv: list[str] | None = None) -> int:
    train(_args(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
