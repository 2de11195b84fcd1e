"""Scale-out: the same suite across nodes, as a Slurm batch script (`srun`) or Kubernetes objects.

Both layouts run three steps against one shared results folder: every node runs `burnin run` into
`<results>/<hostname>/`, then one rank per node runs `burnin pairs`, then `burnin compare` gathers the
fleet view into `<results>/fleet/`. Rendering is deterministic (same inputs, same bytes).
"""

from __future__ import annotations

import math
import re
import shlex
from dataclasses import dataclass
from typing import Any

from aifactory.burnin import BurninInputError

RUN = "python -m aifactory.burnin"
MAX_NODES = 100_000
PAIRS_AND_COMPARE_MIN = 10
_SAFE_PATH = re.compile(r"/[A-Za-z0-9._/-]*")
_IMAGE = re.compile(r"[a-z0-9][a-z0-9._-]*(?::[0-9]{1,5})?(?:/[a-z0-9._-]+)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?"
                    r"(?:@sha256:[0-9a-f]{64})?")


@dataclass(frozen=True)
class ScaleOut:
    nodes: int
    gpus_per_node: int = 8
    profile: str = "acceptance"
    results: str = "/shared/burnin"
    name: str = "aifactory-burnin"
    image: str = "aifactory-burnin:latest"
    partition: str | None = None
    time_limit_min: int | None = None  # None: the profile's node budget plus PAIRS_AND_COMPARE_MIN
    results_claim: str = "burnin-results"
    master_port: int = 29511

    @property
    def limit_min(self) -> int:
        """The job's time limit: the profile's node deadline on CUDA plus time for pairs and compare, and never
        under 30 minutes (a soak needs hours; the old fixed 30 minutes killed it without a report)."""
        if self.time_limit_min is not None:
            return self.time_limit_min
        from aifactory.burnin.profiles import get_profile

        budget_min = get_profile(self.profile, "cuda").node_budget_s / 60
        return max(30, math.ceil(budget_min + PAIRS_AND_COMPARE_MIN))

    def check(self) -> None:
        # `results` lands in an #SBATCH line, in `bash -c '...'` and in plain shell lines: quoting cannot be
        # right for all three, so only plain absolute paths are accepted.
        if not _SAFE_PATH.fullmatch(self.results) or "/../" in f"{self.results}/" or len(self.results) > 255:
            raise BurninInputError(
                f"--results {self.results!r} is not a plain absolute path",
                hint="use letters, digits, '.', '_', '-' and '/' only, no '..', e.g. /shared/burnin",
            )
        if not _IMAGE.fullmatch(self.image) or len(self.image) > 512:
            raise BurninInputError(
                f"--image {self.image!r} is not a container image reference",
                hint="e.g. registry.site.example/aifactory-burnin:1.0 or name@sha256:<digest>",
            )
        if self.nodes > MAX_NODES:
            raise BurninInputError(f"--nodes {self.nodes} is over the limit of {MAX_NODES}",
                                   hint=f"burn in at most {MAX_NODES} nodes per job")
        if self.nodes < 1 or self.gpus_per_node < 0:
            raise BurninInputError(
                f"--nodes {self.nodes} / --gpus-per-node {self.gpus_per_node} make no fleet",
                hint="use at least one node and zero or more GPUs per node",
            )


def slurm_script(s: ScaleOut) -> str:
    """An sbatch script: one task per node, results under `s.results`, exit 1 if any step fails."""
    s.check()
    res = shlex.quote(s.results)
    gres = f"#SBATCH --gpus-per-node={s.gpus_per_node}\n" if s.gpus_per_node else ""
    part = f"#SBATCH --partition={s.partition}\n" if s.partition else ""
    return f"""#!/bin/bash
# Rendered by `aifactory burnin render slurm`: burn-in of {s.nodes} node(s), profile {s.profile}.
#SBATCH --job-name={s.name}
#SBATCH --nodes={s.nodes}
#SBATCH --ntasks-per-node=1
#SBATCH --exclusive
#SBATCH --time={s.limit_min}
{gres}{part}#SBATCH --output={s.results}/slurm-%j.out
set -uo pipefail
mkdir -p {res}
export CUDA_DEVICE_ORDER=PCI_BUS_ID
export MASTER_ADDR=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)
export MASTER_PORT={s.master_port}
status=0
# 1. every node burns itself in, all GPUs at once, into its own folder
srun --ntasks-per-node=1 bash -c '{RUN} run --profile {s.profile} --format text --out {res}/$(hostname)' \\
  || status=1
# 2. pairwise all_reduce between nodes (one rank per node), re-pairing suspects with known-good nodes
if [ "$SLURM_JOB_NUM_NODES" -gt 1 ]; then
  srun --ntasks-per-node=1 {RUN} pairs --out {res}/fleet || status=1
fi
# 3. gather: fleet outliers and recalibrated baselines from every node's report
{RUN} compare {res} --out {res}/fleet || status=1
exit $status
"""


def k8s_objects(s: ScaleOut) -> list[dict[str, Any]]:
    """A headless Service (rank 0's address) and an Indexed Job with one pod per node on a shared volume."""
    s.check()
    labels = {"app.kubernetes.io/name": "aifactory-burnin", "app.kubernetes.io/instance": s.name}
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": s.name, "labels": labels},
        "spec": {"clusterIP": "None", "selector": labels, "ports": [{"name": "rdzv", "port": s.master_port}]},
    }
    script = (
        f"{RUN} run --profile {s.profile} --out /results/$NODE_NAME; rc=$?; "
        f'if [ "$WORLD_SIZE" -gt 1 ]; then {RUN} pairs --out /results/fleet || rc=1; fi; '
        f'if [ "$RANK" = 0 ]; then {RUN} compare /results --out /results/fleet || rc=1; fi; exit $rc'
    )
    env = [
        {"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
        {
            "name": "RANK",
            "valueFrom": {
                "fieldRef": {"fieldPath": "metadata.annotations['batch.kubernetes.io/job-completion-index']"}
            },
        },
        {"name": "WORLD_SIZE", "value": str(s.nodes)},
        {"name": "MASTER_ADDR", "value": f"{s.name}-0.{s.name}"},
        {"name": "MASTER_PORT", "value": str(s.master_port)},
        {"name": "CUDA_DEVICE_ORDER", "value": "PCI_BUS_ID"},
    ]
    resources = {"limits": {"nvidia.com/gpu": s.gpus_per_node}} if s.gpus_per_node else {}
    pod = {
        "metadata": {"labels": labels},
        "spec": {
            "restartPolicy": "Never",
            "subdomain": s.name,
            "affinity": {
                "podAntiAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": [
                        {"labelSelector": {"matchLabels": labels}, "topologyKey": "kubernetes.io/hostname"}
                    ]
                }
            },
            "containers": [
                {
                    "name": "burnin",
                    "image": s.image,
                    "command": ["/bin/bash", "-c", script],
                    "env": env,
                    "ports": [{"containerPort": s.master_port, "name": "rdzv"}],
                    "resources": resources,
                    "volumeMounts": [
                        {"name": "results", "mountPath": "/results"},
                        {"name": "shm", "mountPath": "/dev/shm"},
                    ],
                }
            ],
            "volumes": [
                {"name": "results", "persistentVolumeClaim": {"claimName": s.results_claim}},
                {"name": "shm", "emptyDir": {"medium": "Memory"}},
            ],
        },
    }
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": s.name, "labels": labels},
        "spec": {
            "completionMode": "Indexed",
            "completions": s.nodes,
            "parallelism": s.nodes,
            "backoffLimit": 0,
            "activeDeadlineSeconds": s.limit_min * 60,
            "template": pod,
        },
    }
    return [service, job]


def k8s_yaml(s: ScaleOut) -> str:
    import yaml

    return "---\n".join(yaml.safe_dump(o, sort_keys=True, default_flow_style=False) for o in k8s_objects(s))
