"""What the lab factory produces, for real: the lab blueprint's `mlops.workloads`, rendered by the same renderer as
any blueprint's (`aifactory render --workloads`), run on the lab's Slurm cluster and measured.

`produce` stages the corpus the package ships on the shared file system, submits the training job (torchrun
across the compute nodes, gloo) and the evaluation gate with `sbatch --wait`, installs the serving unit on its
host (KServe's model server following the registry's `champion`), runs the benchmark job (the load generator on
a compute node, over the lab network), and reports the measured tokens/s and latency percentiles next to the
plan's estimate, in the lab state (`lab status`) and in MLflow.

`iterate` runs one cycle of continuous iteration: new data arrives, a successor trains from the champion as a
Slurm job while the champion serves under load, the evaluation gate decides, and a promotion moves the alias,
which the serving replica follows without a restart. The load generator's count of failed requests is the proof
of no downtime; a worse successor is refused and the champion keeps serving.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aifactory import resources
from aifactory.io import atomic_write, atomic_write_tree
from aifactory.lab import mlflow_rest
from aifactory.lab.config import LabDesign
from aifactory.lab.hosts import SHARED_EXPORT
from aifactory.lab.podman import exec_in
from aifactory.lab.state import LabState

Step = Callable[[str], None]
DATASET = "datasets/tinytext"  # under the shared file system: the training job's `data`
WORKLOADS = "workloads"  # the rendered tree, under the shared file system
KPI_EXPERIMENT = "lab-kpi"
JOB_TIMEOUT_S = 900
# Where a job finds torchrun and python3: the workloads environment (render/workloads/slurm.py WORKLOAD_ENV).
JOB_PATH = "{env}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class ProduceError(RuntimeError):
    """A workload failed in the lab: what failed, and the tail of its output."""


def _shared(state: LabState) -> Path:
    from aifactory.lab.paths import state_dir

    return state_dir() / "shared"


def stage_data(state: LabState, parts: tuple[str, ...]) -> list[str]:
    """Copy corpus files onto the shared file system (each file whole, atomically); returns those newly staged."""
    target = _shared(state) / DATASET
    target.mkdir(parents=True, exist_ok=True)
    new = []
    for name in parts:
        if not (target / name).exists():
            atomic_write(target / name, resources.package_file("tinylm", "corpus", name).read_text(encoding="utf-8"))
            new.append(name)
    return new


def render(state: LabState, design: LabDesign) -> dict[str, str]:
    """The lab blueprint's workloads as `aifactory render --workloads` writes them, swapped in under /shared."""
    from aifactory.render.workloads import render_workloads

    files, _summary = render_workloads(design.loaded, design.loaded.model.site.region)
    atomic_write_tree(_shared(state) / WORKLOADS, files)
    (_shared(state) / WORKLOADS / "out").mkdir(exist_ok=True)
    return files


def _one(files: dict[str, str], pattern: str) -> str:
    found = sorted(p for p in files if re.fullmatch(pattern, p))
    if len(found) != 1:
        raise ProduceError(f"the lab blueprint renders {len(found)} files matching {pattern}, not one: {found}")
    return found[0]


def on_controller(*parts: str) -> str:
    """A path under the shared file system as the controller sees it: the export itself (it serves it and does
    not mount it, like a production file server; every lab host has the export at SHARED_EXPORT)."""
    return "/".join((SHARED_EXPORT, *parts))


def sbatch(state: LabState, env: str, path: str, *args: str) -> dict[str, Any]:
    """Submit a rendered script from the controller and wait for it (`sbatch --wait`); the job runs in
    /shared/workloads/out on its nodes. Returns its job ID, exit code and output."""
    inside = f"{state.shared_mount}/{WORKLOADS}"
    started = time.monotonic()
    done = exec_in(
        state.controller,
        ["timeout", str(JOB_TIMEOUT_S), "env", f"PATH={JOB_PATH.format(env=env)}", "sbatch", "--wait", "--parsable",
         f"--chdir={inside}/out", on_controller(WORKLOADS, path), *args],
        timeout=JOB_TIMEOUT_S + 30,
    )  # fmt: skip
    job = done.stdout.strip().split(";")[0]
    name = Path(path).stem.split(".")[0]
    outputs = sorted((_shared(state) / WORKLOADS / "out").glob(f"*-{job}.out")) if job.isdigit() else []
    output = outputs[0].read_text(errors="replace") if outputs else ""
    result = {"job": job, "rc": done.returncode, "seconds": round(time.monotonic() - started, 1), "output": output}
    if done.returncode != 0:
        raise ProduceError(f"{name}: sbatch exit {done.returncode}: {done.stderr.strip()[-400:]}\n{output[-2500:]}")
    return result


def last_json(output: str) -> dict[str, Any]:
    """The last line of a job's output that is a JSON object (the scripts print their result so)."""
    for line in reversed(output.splitlines()):
        line = line.strip()
        if line.startswith("{") and line.endswith("}"):
            try:
                found: dict[str, Any] = json.loads(line)
                return found
            except ValueError:
                continue
    raise ProduceError(f"no JSON result in the job's output: {output[-1500:]}")


def serve(state: LabState, files: dict[str, str], step: Step) -> dict[str, Any]:
    """Install the rendered serving unit on its host and start it; waits until the model answers ready."""
    path = _one(files, r"slurm/systemd/[^/]+/aifactory-serve-[^/]+\.service")
    host, unit = path.split("/")[2], Path(path).name
    step(f"serving: {unit} on {host}")
    src = f"{state.shared_mount}/{WORKLOADS}/{path}"
    for cmd in (["install", "-m", "0644", src, f"/etc/systemd/system/{unit}"], ["systemctl", "daemon-reload"],
                ["systemctl", "enable", "--now", unit]):  # fmt: skip
        done = exec_in(host, cmd, timeout=60)
        if done.returncode != 0:
            raise ProduceError(f"serving on {host}: {' '.join(cmd)}: {done.stderr.strip()}")
    port = int(re.search(r"--port (\d+)", files[path]).group(1))  # type: ignore[union-attr]
    model = re.search(r"--model (\S+)", files[path]).group(1)  # type: ignore[union-attr]
    url = f"http://{state.addresses[host]}:{port}"
    deadline = time.monotonic() + 180
    while not _ready(f"{url}/v1/models/{model}"):
        if time.monotonic() > deadline:
            log = exec_in(host, ["journalctl", "-u", unit, "--no-pager", "-n", "40"], timeout=30).stdout
            raise ProduceError(f"{unit} on {host} did not become ready in 180 s:\n{log}")
        time.sleep(1)
    return {"host": host, "unit": unit, "url": url, "inband_url": f"http://{host}:{port}", "model": model}


def monitor(state: LabState, files: dict[str, str], step: Step) -> list[str]:
    """Put the rendered scrape targets and alert rules of the serving replicas where the prometheus role's server
    reads them (its file_sd and rules folders, roles/prometheus/defaults), and reload it."""
    placed = []
    for path, folder in (("slurm/prometheus/aifactory-serving.json", "/etc/prometheus/file_sd"),
                         ("slurm/prometheus/aifactory-serving-rules.yml", "/etc/prometheus/rules")):  # fmt: skip
        if path in files:
            src = on_controller(WORKLOADS, path)
            done = exec_in(state.controller, ["install", "-m", "0644", src, f"{folder}/{Path(path).name}"], timeout=60)
            if done.returncode != 0:
                raise ProduceError(f"monitoring: installing {path} on {state.controller}: {done.stderr.strip()}")
            placed.append(f"{folder}/{Path(path).name}")
    if placed:
        step("monitoring: the serving targets and alerts into Prometheus")
        done = exec_in(state.controller, ["systemctl", "reload", "prometheus"], timeout=60)
        if done.returncode != 0:
            raise ProduceError(f"monitoring: systemctl reload prometheus: {done.stderr.strip()}")
    return placed


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=3) as resp:
            return bool(json.loads(resp.read()).get("ready"))
    except (OSError, ValueError):
        return False


def _metric(url: str, name: str) -> float | None:
    with urllib.request.urlopen(url + "/metrics", timeout=10) as resp:
        for line in resp.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    return None


def served_version(url: str) -> str:
    """The registry version the replica serves, from its /metrics."""
    found = _metric(url, "aifactory_serving_model_version")
    return "" if found is None else str(int(found))


def generated_tokens(url: str) -> float:
    """Tokens the replica has generated since it started (its counter)."""
    return _metric(url, "aifactory_serving_generated_tokens_total") or 0.0


# -- energy: tokens per joule where the serving host has a counter -------------------------------------------
RAPL = "/sys/class/powercap"


def energy_uj(state: LabState, host: str) -> tuple[int | None, str]:
    """The host's cumulative package energy in microjoules (RAPL's `energy_uj`, summed over package zones), or
    None and why. NVML's counter is the GPU nodes' (the burn-in suite reads it); the lab has no GPU."""
    script = f"for z in {RAPL}/intel-rapl:[0-9]*; do [ -r $z/energy_uj ] && cat $z/energy_uj; done 2>/dev/null; true"
    out = exec_in(host, ["sh", "-c", script], timeout=30).stdout.split()
    if not out:
        return None, f"no energy counter on {host}: no readable RAPL zone under {RAPL} and no GPU for NVML"
    return sum(int(x) for x in out), f"RAPL package zones on {host} ({len(out)})"


def plan_estimate(design: LabDesign) -> dict[str, Any]:
    """The plan's token-throughput KPI for the lab design, and why it is absent where it is."""
    from aifactory.design import plan
    from aifactory.design.kpi import kpis

    p = plan(design.blueprint)
    figure = kpis(p.gpu, p.gpus, p.power.it_w, p.sku.max_power_w * p.nodes)["tokens_per_s"]
    if figure is None:
        why = (f"the {p.sku_id} node has {p.sku.gpus} GPUs and no published per-GPU inference figure, so the plan "
               "estimates no tokens/s")  # fmt: skip
        return {"tokens_per_s": None, "reason": why}
    return {"tokens_per_s": figure, "reason": "GPUs x the catalogue's per-GPU inference figure"}


def produce(state: LabState, design: LabDesign, env: str, step: Step) -> dict[str, Any]:
    """Train, evaluate, serve and benchmark the lab blueprint's workloads; the result is saved in the state."""
    started = time.monotonic()
    staged = stage_data(state, ("train-1.txt", "heldout.txt"))
    files = render(state, design)
    train = _one(files, r"slurm/train-[^/]+\.sbatch")
    evaluate = _one(files, r"slurm/eval-[^/]+\.sbatch")
    bench = _one(files, r"slurm/bench-[^/]+\.sbatch")
    step(f"training: sbatch {train} (torchrun across the compute nodes, gloo)")
    trained = sbatch(state, env, train)
    step(f"evaluation: sbatch {evaluate} (the gate moves champion if the model passes)")
    gated = sbatch(state, env, evaluate)
    served = serve(state, files, step)
    served["monitoring"] = monitor(state, files, step)
    host = served["host"]
    before, tokens_before = energy_uj(state, host), generated_tokens(served["url"])
    step(f"benchmark: sbatch {bench} (load generator on a compute node against {served['inband_url']})")
    benched = sbatch(state, env, bench)
    after, tokens = energy_uj(state, host), generated_tokens(served["url"]) - tokens_before
    figures = last_json(benched["output"])
    result: dict[str, Any] = {
        "data": {"staged": staged, "dir": f"{state.shared_mount}/{DATASET}"},
        "train": {"job": trained["job"], "seconds": trained["seconds"], **last_json(trained["output"])},
        "eval": {"job": gated["job"], **last_json(gated["output"])},
        "serving": {**served, "version": served_version(served["url"])},
        "bench": {"job": benched["job"], **figures},
        "plan": plan_estimate(design),
    }
    if before[0] is not None and after[0] is not None and after[0] > before[0]:
        # The serving host's package energy over the benchmark job, and the tokens its replica generated in it.
        joules = (after[0] - before[0]) / 1e6
        result["energy"] = {"source": after[1], "joules": round(joules, 3), "tokens": tokens,
                            "tokens_per_joule": round(tokens / joules, 4)}  # fmt: skip
    else:
        result["energy"] = {"source": None, "tokens_per_joule": None, "reason": after[1]}
    result["seconds"] = round(time.monotonic() - started, 1)
    result["mlflow_run_id"] = _log_kpi(state, result)
    state.production = result
    state.timings["produce_s"] = result["seconds"]
    state.save()
    return result


def _log_kpi(state: LabState, result: dict[str, Any]) -> str:
    """One MLflow run with the measured figures beside the plan's estimate."""
    bench, plan_kpi = result["bench"], result["plan"]
    metrics = {k: float(bench[k]) for k in ("output_tokens_per_s", "requests_per_s", "p50_e2el_ms", "p99_e2el_ms")
               if k in bench}  # fmt: skip
    metrics["train_seconds"] = float(result["train"]["seconds"])
    if plan_kpi["tokens_per_s"] is not None:
        metrics["plan_tokens_per_s"] = float(plan_kpi["tokens_per_s"])
    if result["energy"]["tokens_per_joule"] is not None:
        metrics["tokens_per_joule"] = float(result["energy"]["tokens_per_joule"])
    tags = {"plan.reason": plan_kpi["reason"], "energy": result["energy"].get("source") or result["energy"]["reason"],
            "serving.version": result["serving"]["version"]}  # fmt: skip
    return mlflow_rest.log_run(state.services["mlflow"], KPI_EXPERIMENT, f"kpi-bench-{bench['job']}",
                               params={"model": result["serving"]["model"], "bench_job": str(bench["job"])},
                               metrics=metrics, tags=tags, artifacts={})  # fmt: skip


# -- continuous iteration ---------------------------------------------------------------------------------------
def _champion(state: LabState, model: str) -> str:
    try:
        return str(mlflow_rest.alias_version(state.services["mlflow"], model, "champion"))
    except OSError:
        return ""


def iterate(state: LabState, design: LabDesign, env: str, step: Step, steps: int, fresh: bool) -> dict[str, Any]:
    """One cycle: new data, a successor trained while the champion serves under load, the gate's decision, the
    switch (or not), and the load generator's account of every request in between."""
    if not state.production:
        raise ProduceError("the lab has produced nothing yet: `aifactory lab up` trains and serves the first model")
    files = render(state, design)
    served = state.production["serving"]
    model, url = served["model"], served["url"]
    tag = time.strftime("%Y%m%d-%H%M%S")
    work = _shared(state) / "iterate" / tag
    work.mkdir(parents=True, exist_ok=True)
    inside = on_controller("iterate", tag)
    new_data = stage_data(state, ("train-2.txt",))
    before = {"champion": _champion(state, model), "served": served_version(url)}
    bench = last_json_args(files[_one(files, r"slurm/bench-[^/]+\.sbatch")])
    step(f"load: {bench['concurrency']} clients against {served['inband_url']} until the cycle ends")
    load = subprocess.Popen(
        ["podman", "exec", state.controller, f"{env}/bin/python", "-m", "aifactory.tinylm.loadgen",
         "--url", served["inband_url"], "--model", model, "--prompt-tokens", bench["prompt_tokens"],
         "--output-tokens", bench["output_tokens"], "--concurrency", bench["concurrency"], "--requests", "1",
         "--until-file", f"{inside}/stop", "--result-file", f"{inside}/load.json"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=_podman_env(),
    )  # fmt: skip
    try:
        args = ["--steps", str(steps)] + ([] if fresh else ["--init-from", f"models:/{model}@champion"])
        train = _one(files, r"slurm/train-[^/]+\.sbatch")
        step(f"successor: sbatch {train} {' '.join(args)} (new data: {', '.join(new_data) or 'none'})")
        trained = sbatch(state, env, train, *args)
        step("evaluation: the gate decides")
        gated = sbatch(state, env, _one(files, r"slurm/eval-[^/]+\.sbatch"))
        decision = last_json(gated["output"])
        switched_s = None
        if decision.get("promoted"):
            step(f"promotion: waiting for {served['host']} to serve version {decision['version']}")
            t0, deadline = time.monotonic(), time.monotonic() + 60
            while served_version(url) != str(decision["version"]) and time.monotonic() < deadline:
                time.sleep(0.5)
            switched_s = round(time.monotonic() - t0, 1)
        time.sleep(3)  # traffic on the version now served
    finally:
        (work / "stop").touch()
        _, err = load.communicate(timeout=120)
    traffic = json.loads((work / "load.json").read_text()) if (work / "load.json").exists() else {}
    if not traffic:
        raise ProduceError(f"the load generator wrote no result: {err.decode(errors='replace')[-1500:]}")
    after = {"champion": _champion(state, model), "served": served_version(url)}
    result = {
        "tag": tag,
        "new_data": new_data,
        "successor": {"version": str(decision["version"]), "job": trained["job"], "seconds": trained["seconds"],
                      "init_from": "scratch" if fresh else f"models:/{model}@champion", "steps": steps,
                      **{k: v for k, v in last_json(trained["output"]).items() if k not in ("version",)}},
        "decision": decision,
        "before": before,
        "after": after,
        "switch_seconds": switched_s,
        "traffic": {k: traffic[k] for k in ("completed", "failed", "errors", "versions", "output_throughput",
                                            "p50_e2el_ms", "p99_e2el_ms", "duration")},
    }  # fmt: skip
    state.iterations.append(result)
    state.save()
    return result


def last_json_args(sbatch_text: str) -> dict[str, str]:
    """The load the rendered benchmark applies (its loadgen flags), reused for the iteration's traffic."""
    flags = dict(re.findall(r"--(prompt-tokens|output-tokens|concurrency) (\d+)", sbatch_text))
    if len(flags) != 3:
        raise ProduceError("the rendered benchmark does not run aifactory.tinylm.loadgen (serving engine kserve)")
    return {k.replace("-", "_"): v for k, v in flags.items()}


def _podman_env() -> dict[str, str]:
    from aifactory.lab.podman import containers_conf

    return {**os.environ, "CONTAINERS_CONF": str(containers_conf())}
