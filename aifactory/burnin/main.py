"""`python -m aifactory.burnin ...`: the suite's own command line, needing only torch.

It mirrors `aifactory burnin ...` (which adds `--blueprint`) so lab nodes and bare GPU nodes can run the
same suite. nvidia-ml-py (telemetry) and PyYAML (YAML thresholds files) are optional: what is missing is said
on standard error before the run; a missing torch is an unusable setup (exit 2), never a traceback. The code
on this path is Python 3.10 compatible (Ubuntu 22.04 GPU nodes). Exit codes: 0 pass or warn, 1 fail, 2
unusable input.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from aifactory.burnin import BurninInputError
from aifactory.burnin.profiles import PROFILE_NAMES
from aifactory.errors import UserError

FORMATS = ("text", "json", "junit")
REQUIRED = {"torch": "PyTorch (pip install torch): every phase runs on it"}
OPTIONAL = {
    "pynvml": "nvidia-ml-py: without it there is no power, temperature, throttle, ECC or XID telemetry "
    "(a CUDA run then FAILs with NVML_UNAVAILABLE)",
    "yaml": "PyYAML: without it a --thresholds file must be JSON",
}


def dependencies() -> dict[str, bool]:
    """Which of the suite's dependencies import here. Imported, not just found: a torch whose CUDA libraries
    do not load must be reported here, not as a traceback from inside the run."""
    import importlib

    have = {}
    for name in (*REQUIRED, *OPTIONAL):
        try:
            importlib.import_module(name)
            have[name] = True
        except Exception:  # ImportError, or a broken install raising anything while it loads
            have[name] = False
    return have


def check_dependencies(need_torch: bool, warn: Any) -> None:
    """Raise BurninInputError (exit 2) for a missing torch; `warn` each missing optional one."""
    have = dependencies()
    missing = [n for n in REQUIRED if not have[n]]
    if need_torch and missing:
        raise BurninInputError(
            f"missing required module(s): {', '.join(missing)}",
            hint="; ".join(REQUIRED[n] for n in missing)
            + ". Optional: "
            + "; ".join(f"{n} {'found' if have[n] else 'MISSING'}" for n in OPTIONAL),
        )
    for name, what in OPTIONAL.items():
        if not have[name]:
            warn(f"burn-in: optional module {name} not found: {what}")


def load_thresholds(path: str | None) -> Any:
    """Thresholds from a YAML file holding the acceptance mapping (at the top or under `acceptance:`)."""
    from aifactory.burnin.thresholds import Thresholds

    if not path:
        return Thresholds()
    from aifactory.files import present, read_bytes

    if not present(Path(path), path):
        raise BurninInputError("thresholds file not found", hint="pass a YAML or JSON file", file=path)
    # The shared reader (regular files, a size cap); not the blueprint's YAML reader, which needs pydantic,
    # and the suite runs on nodes without it. A thresholds file is a flat mapping of a dozen numbers.
    raw = read_bytes(Path(path), path, 64 << 10, "thresholds file")
    text = raw.decode("utf-8", errors="replace")
    try:
        import yaml
    except ImportError:  # a bare GPU node: JSON (a subset of YAML) still works
        import json

        try:
            data = json.loads(text)
        except ValueError as err:
            raise BurninInputError(
                f"PyYAML is not installed and the file is not JSON ({err})",
                hint="install PyYAML, or write the thresholds as JSON, e.g. {\"fail_below\": 0.85}",
                file=path,
            ) from None
    else:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as err:
            raise BurninInputError(f"malformed YAML: {err}", hint="fix the YAML syntax", file=path) from None
    if isinstance(data, dict) and isinstance(data.get("acceptance"), dict):
        data = data["acceptance"]
    if data is not None and not isinstance(data, dict):
        raise BurninInputError("expected a mapping of acceptance thresholds", hint="e.g. fail_below: 0.85", file=path)
    return Thresholds.from_mapping(data, source=path)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m aifactory.burnin", description="GPU burn-in and acceptance.")
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="burn in this node and give a verdict")
    run.add_argument("--profile", choices=PROFILE_NAMES, default=None)
    run.add_argument("--devices", default=None, help="comma-separated indices, or all (default)")
    run.add_argument("--device-type", default="auto", choices=("auto", "cuda", "cpu"))
    run.add_argument("--gpu", default=None, help="catalogue GPU id (default: identified from NVML)")
    run.add_argument("--thresholds", default=None, help="YAML file with the blueprint's acceptance mapping")
    run.add_argument("--phases", default=None, help="comma-separated subset; any phase left out counts as skipped")
    run.add_argument("--phase-timeout", type=float, default=None, help="seconds per phase before a worker is killed")
    run.add_argument(
        "--node-budget",
        type=float,
        default=None,
        help="seconds for the whole run (default: the profile's, 840 for acceptance on CUDA); every phase "
        "budget and duration scales with it",
    )
    run.add_argument("--format", choices=FORMATS, default="text")
    run.add_argument("--out", default=None, help="folder for the JSON, summary, JUnit and plots")
    run.add_argument("--no-plots", action="store_true")
    cmp = sub.add_parser("compare", help="fleet outliers and recalibrated baselines from many reports")
    cmp.add_argument("results", nargs="+")
    cmp.add_argument("--format", choices=("text", "json"), default="text")
    cmp.add_argument("--out", default=None)
    pairs = sub.add_parser("pairs", help="multi-node pairwise all_reduce (run one rank per node)")
    pairs.add_argument("--device-type", default="auto", choices=("auto", "cuda", "cpu"))
    pairs.add_argument("--bytes", type=int, default=None)
    pairs.add_argument("--iters", type=int, default=None)
    pairs.add_argument("--out", default=None)
    pairs.add_argument("--format", choices=("text", "json"), default="text")
    _health_parser(sub)
    render = sub.add_parser("render", help="Slurm batch script or Kubernetes manifests for a fleet burn-in")
    render.add_argument("target", choices=("slurm", "k8s"))
    render.add_argument("--nodes", type=int, required=True)
    render.add_argument("--gpus-per-node", type=int, default=8)
    render.add_argument("--profile", choices=PROFILE_NAMES, default="acceptance")
    render.add_argument("--results", default="/shared/burnin", help="shared results folder (Slurm)")
    render.add_argument("--image", default="aifactory-burnin:latest", help="container image (Kubernetes)")
    render.add_argument("--out", default=None, help="file to write (default: standard output)")
    return p


def _health_parser(sub: Any) -> None:
    from aifactory.burnin.health import DEFAULT_XID_ACK, NVIDIA_MAJOR
    from aifactory.burnin.slurmnode import MODES

    h = sub.add_parser("health", help="the node check between jobs (seconds; no torch): exit 0 pass, 1 fail")
    h.add_argument("--gpus", type=int, required=True, help="GPUs this node should have (its gres count)")
    h.add_argument("--simulated", action="store_true", help="the GPUs are device files without a driver (lab)")
    h.add_argument("--driver", default="", help="expected driver version or branch, e.g. 570.124.06 or 570")
    h.add_argument("--device-prefix", default="/dev/nvidia", help="GPU device files (simulated GPUs)")
    h.add_argument("--gpu-major", type=int, default=NVIDIA_MAJOR, help="their character major (simulated GPUs)")
    h.add_argument("--xid-ack", default=DEFAULT_XID_ACK, help="file holding the acknowledged kernel log position")
    h.add_argument("--ack-xids", action="store_true", help="acknowledge the XIDs logged so far (after a GPU reset)")
    h.add_argument("--slurm", choices=MODES, default=None,
                   help="run as Slurm's HealthCheckProgram, Prolog or Epilog: drain on failure (and resume on a "
                   "pass, as healthcheck) nodes this check drained")  # fmt: skip
    h.add_argument("--node", default=None, help="Slurm node name (default: $SLURMD_NODENAME, else the host name)")
    h.add_argument("--format", choices=("text", "json"), default="text")


def cmd_health(args: argparse.Namespace, echo: Any) -> int:
    """The node check; with --slurm, its drain or resume. One line (text) or the whole result (json)."""
    import json
    import os
    import socket

    from aifactory.burnin.health import HealthOptions, ack_xids, one_line, run_check
    from aifactory.io import atomic_write

    if args.gpus < 0:
        raise BurninInputError(f"--gpus {args.gpus} must be 0 or more", hint="the node's gres GPU count, e.g. 8")
    opts = HealthOptions(args.gpus, args.simulated, args.driver, args.device_prefix, args.gpu_major,
                         xid_ack=args.xid_ack)  # fmt: skip
    if args.ack_xids:
        echo(f"XIDs acknowledged up to kernel log record {ack_xids(opts, atomic_write)}")
        return 0
    result = run_check(opts)
    if args.slurm:
        from aifactory.burnin.slurmnode import act

        node = args.node or os.environ.get("SLURMD_NODENAME") or socket.gethostname().split(".")[0]
        result["slurm"] = {"mode": args.slurm, "node": node, "action": act(args.slurm, node, result)}
    line = one_line(result) + (f" [{result['slurm']['action']}]" if result.get("slurm", {}).get("action") else "")
    echo(json.dumps(result, indent=2, sort_keys=True) if args.format == "json" else line)
    return 1 if result["verdict"] == "FAIL" else 0


def cmd_render(target: str, scale: Any, out: str | None, echo: Any) -> int:
    """Render the Slurm script or the Kubernetes YAML; write it to `out` or print it."""
    from aifactory.burnin.scaleout import k8s_yaml, slurm_script
    from aifactory.io import atomic_write

    text = slurm_script(scale) if target == "slurm" else k8s_yaml(scale)
    if out is not None:  # `--out ""` is refused by atomic_write, not taken for standard output
        atomic_write(out, text)
    else:
        echo(text.rstrip("\n"))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "run":
            return cmd_run(args)
        if args.command == "compare":
            from aifactory.burnin.compare import cmd_compare

            return cmd_compare(args.results, args.format, args.out, print)
        if args.command == "health":
            return cmd_health(args, print)
        if args.command == "render":
            from aifactory.burnin.scaleout import ScaleOut

            scale = ScaleOut(args.nodes, args.gpus_per_node, args.profile, args.results, image=args.image)
            return cmd_render(args.target, scale, args.out, print)
        check_dependencies(need_torch=True, warn=lambda msg: None)
        from aifactory.burnin.multinode import cmd_pairs

        return cmd_pairs(args.device_type, args.bytes, args.iters, args.out, args.format, print)
    except BurninInputError as err:
        print(f"error: {err.render()}", file=sys.stderr)
        return 2
    except UserError as err:  # the shared file reader's refusals (FIFOs, sizes, non-strict JSON)
        print(f"error: {err.format_message()}", file=sys.stderr)
        return 2


def cmd_run(args: argparse.Namespace) -> int:
    check_dependencies(need_torch=True, warn=lambda msg: print(msg, file=sys.stderr))
    if args.node_budget is not None and not args.node_budget > 0:
        raise BurninInputError(f"--node-budget {args.node_budget} must be a positive number of seconds",
                               hint="e.g. --node-budget 300")
    from aifactory.burnin.suite import SuiteOptions, parse_devices, parse_phases

    opts = SuiteOptions(
        profile=args.profile,
        device_type=args.device_type,
        devices=parse_devices(args.devices),
        gpu_id=args.gpu,
        thresholds=load_thresholds(args.thresholds),
        phases=parse_phases(args.phases),
        phase_timeout_s=args.phase_timeout,
        node_budget_s=args.node_budget,
        progress=lambda phase: print(f"burn-in: {phase}", file=sys.stderr),
    )
    return execute(opts, args.format, args.out, not args.no_plots, print)


def execute(opts: Any, fmt: str, out: str | None, plots: bool, echo: Any) -> int:
    """Run, write the artifacts, print the chosen rendering; return the exit code. Shared by both CLIs."""
    from aifactory.burnin.report import RENDERERS, write_artifacts
    from aifactory.burnin.suite import run_suite

    report = run_suite(opts, out=out or None)
    if out:
        write_artifacts(report, Path(out), plots=plots)
    echo(RENDERERS[fmt](report).rstrip("\n"))
    code: int = report["node"]["exit_code"]
    return code
