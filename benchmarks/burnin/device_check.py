"""The burn-in suite's device check: one command, under 8 minutes on one H200, every step under a timeout.

    PYTHONPATH=. python3 benchmarks/burnin/device_check.py --out "$OUT"            # on the GPU box
    PYTHONPATH=. python3 benchmarks/burnin/device_check.py --cpu-smoke --out DIR   # dry run on any machine

Run from the repository root with only torch and nvidia-ml-py installed (nothing here imports pydantic, PyYAML
or typer). Steps, each in its own process group, killed when its timeout or the run's deadline passes:

  nvml_probe   every CUDA device matched to its NVML device by UUID; every NVML call the suite makes, answered
  sweep        bf16 torch.matmul shape sweep, warm-up then timed medians: the peak (mamf-finder style)
  sustained    the suite's compute phase (8192^3 bf16, minutes-long, hot): the sustained figure
  triad        the suite's HBM triad against the datasheet bandwidth
  quick        `python -m aifactory.burnin run --profile quick` on CUDA: must PASS with no WARN
  fault_sdc, fault_nan, fault_slow   injected faults: each must FAIL with its reason code
  sdc_hashes   the SDC phase's hash in three processes at once: all must agree
  hang         a worker that never answers is killed by PID within its budget

Results go to OUT/device-check.json (per step: status, seconds, figures; per target: value, limit, met) with the
raw outputs beside it. Exit 0 when every expectation holds, 1 when one fails, 2 on bad usage. With --cpu-smoke
the same steps run on the CPU with tiny sizes; the GPU targets read "skipped" and do not count.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
INJECT_ENV = "AIFACTORY_BURNIN_INJECT"
sys.path.insert(0, str(ROOT))  # run from anywhere: the suite is imported from this checkout, not installed
DEADLINE_S = 470.0  # the whole check: under 8 minutes with room for the machine's start
# Targets on H200 (compared with the catalogue's datasheet figures of the GPU found).
TARGETS = {
    "sustained_vs_sweep_best": 0.90,
    "sustained_vs_spec_bf16": 0.75,
    "triad_vs_spec_hbm": 0.88,
}
FAULTS = {
    # fault: (phases, reason codes that must appear on GPU 0 with severity fail, on CUDA / on CPU)
    "sdc": ("preflight,compute,sdc", {"SDC_MISMATCH_SELF", "SDC_MISMATCH_LOOP"},
            {"SDC_MISMATCH_SELF", "SDC_MISMATCH_LOOP"}),
    "nan": ("preflight,compute", {"NAN_OUTPUT"}, {"NAN_OUTPUT"}),
    # One GPU has no peers: the slow one falls under the absolute floor. On the CPU there is no floor, so
    # five workers and the peer comparison catch it.
    "slow": ("preflight,compute", {"BELOW_FLOOR"}, {"PEER_OUTLIER"}),
}
STEP_TIMEOUT_S = {
    "nvml_probe": 40, "sweep": 100, "sustained": 110, "triad": 60, "quick": 420,
    "fault_sdc": 100, "fault_nan": 90, "fault_slow": 90, "sdc_hashes": 90, "hang": 90,
}
TARGET_STEPS = {
    "sustained_vs_sweep_best": ("sweep", "sustained"),
    "sustained_vs_spec_bf16": ("sweep", "sustained"),  # the sweep names the device, hence its datasheet
    "triad_vs_spec_hbm": ("sweep", "triad"),
    "every_fault_caught": ("fault_sdc", "fault_nan", "fault_slow"),
    "quick_pass_no_warn": ("quick",),
}
ORDER = ("nvml_probe", "sweep", "sustained", "triad", "sdc_hashes", "fault_sdc", "fault_nan", "fault_slow", "hang",
         "quick")


# -- in-process steps (run as `device_check.py --step NAME` in a child process) ------------------------------
def _device(kind: str) -> Any:
    sys.path.insert(0, str(ROOT))
    from aifactory.burnin.phases.device import open_device

    return open_device(kind, 0, ())


def step_nvml_probe(kind: str, smoke: bool) -> dict[str, Any]:
    import torch

    sys.path.insert(0, str(ROOT))
    from aifactory.burnin.runner import foreign_processes
    from aifactory.burnin.telemetry import Nvml, XidWatcher, host_pid_namespace, norm_uuid

    nvml = Nvml()
    if not nvml.available:
        return {"ok": False, "error": nvml.detail}
    devices, problems = [], []
    for i in range(torch.cuda.device_count()):
        props = torch.cuda.get_device_properties(i)
        uuid = str(getattr(props, "uuid", "")) or None
        found = nvml.match(uuid, None)
        if not found:
            problems.append(f"cuda:{i} (uuid {uuid}) matches no NVML device")
            continue
        h = found["handle"]
        torch.ones(1, device=f"cuda:{i}")  # a context, so the process list has us in it
        sample, counters = nvml.sample(h), nvml.counters(h)
        row = {
            "cuda_index": i, "uuid": uuid, "nvml_index": found["nvml_index"], "matched_by": found["matched_by"],
            "nvml_uuid_agrees": norm_uuid(nvml.identity(h).get("uuid")) == norm_uuid(uuid),
            "identity": nvml.identity(h), "preflight": nvml.preflight(h), "counters": counters, "sample": sample,
            "link_state": nvml.link_state(h), "compute_pids": nvml.compute_pids(h),
            "processes": foreign_processes([], nvml.compute_pids(h), {os.getpid()}, host_pid_namespace()),
            "unanswered": sorted(k for k, v in {**sample, **counters}.items() if v is None),
        }
        for key in ("throttle_mask", "temp_c", "power_w", "sm_clock_mhz"):
            if not isinstance(sample.get(key), int | float):
                problems.append(f"cuda:{i}: sample has no {key}")
        if counters.get("energy_mj") is None:
            problems.append(f"cuda:{i}: no energy counter")
        if not row["nvml_uuid_agrees"]:
            problems.append(f"cuda:{i}: NVML identity UUID differs from torch's")
        devices.append(row)
    xid = XidWatcher(nvml)
    xid.start({d["cuda_index"]: nvml.match(d["uuid"], None)["handle"] for d in devices})
    xid.stop()
    return {"ok": not problems and bool(devices), "problems": problems, "devices": devices,
            "xid": {"available": xid.available, "detail": xid.detail},
            "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES")}


def step_sweep(kind: str, smoke: bool) -> dict[str, Any]:
    import torch

    sys.path.insert(0, str(HERE))
    from matmul_sweep import sweep

    sizes, warmup, iters = ((32, 64), 2, 5) if smoke else ((4096, 8192, 16384), 10, 30)
    result = sweep(torch, kind, sizes, warmup, iters)
    return {"ok": result["best"]["tflops"] > 0, **result}


def step_sustained(kind: str, smoke: bool) -> dict[str, Any]:
    from aifactory.burnin.phases import compute
    from aifactory.burnin.telemetry import temperature_reader, worker_nvml

    dev = _device(kind)
    params: dict[str, Any] = (
        {"n": 128, "batch": 4, "extra_dtypes": [], "max_variation": 0.5, "min_s": 0.5, "max_s": 1.0,
         "tput_window_s": 0.3, "temp_window_s": 0.3}
        if smoke
        else {"n": 8192, "batch": 10, "extra_dtypes": [], "max_variation": 0.01, "min_s": 30, "max_s": 50,
              "tput_window_s": 10, "temp_window_s": 20}
    )
    uuid = str(getattr(dev.torch.cuda.get_device_properties(0), "uuid", "")) if dev.is_cuda else None
    nvml, handle = worker_nvml(uuid, None, not dev.is_cuda)
    m = compute.run(dev, params, temperature_reader(nvml, handle))
    m.pop("series", None)
    return {"ok": m["finite"] and m["compare"]["mismatched_batches"] == 0, **m}


def step_triad(kind: str, smoke: bool) -> dict[str, Any]:
    from aifactory.burnin.phases import memory

    dev = _device(kind)
    params = {"triad_bytes": 1 << 20, "triad_reps": 5, "triad_kernels": 2} if smoke else \
        {"triad_bytes": 1 << 30, "triad_reps": 30, "triad_kernels": 10}
    m = memory.triad(dev, params)
    return {"ok": m["gbps"] > 0, **m}


def step_sdc_hash(kind: str, smoke: bool) -> dict[str, Any]:
    from aifactory.burnin.phases import sdc

    dev = _device(kind)
    m = sdc.run(dev, {"n": 96 if smoke else 8192, "repeats": 3, "fp64_rows": 4 if smoke else 32})
    return {"ok": m["self_mismatches"] == 0 and m["fp64"]["bad_elements"] == 0, **m}


IN_PROCESS = {"nvml_probe": step_nvml_probe, "sweep": step_sweep, "sustained": step_sustained,
              "triad": step_triad, "sdc_hash": step_sdc_hash}


# -- the driver ------------------------------------------------------------------------------------------
class Check:
    def __init__(self, out: Path, smoke: bool, deadline_s: float, selected: tuple[str, ...] = ORDER) -> None:
        self.out, self.smoke, self.selected = out, smoke, selected
        self.kind = "cpu" if smoke else "cuda"
        self.t0 = time.monotonic()
        self.deadline = self.t0 + deadline_s
        self.steps: dict[str, dict[str, Any]] = {}

    def _timeout(self, name: str) -> float:
        return max(0.0, min(STEP_TIMEOUT_S[name], self.deadline - time.monotonic()))

    def _spawn(self, argv: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        full = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
                **(env or {})}
        if not (env and INJECT_ENV in env):
            full.pop(INJECT_ENV, None)  # only the fault steps inject, and only what they name
        return subprocess.Popen(argv, cwd=ROOT, env=full, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)

    def _wait(self, procs: list[subprocess.Popen[str]], timeout: float) -> list[tuple[int | None, str, str]]:
        """Wait for all; kill (by process group: the suite's workers go with it) what outlives the timeout."""
        end, results = time.monotonic() + timeout, []
        for proc in procs:
            try:
                out, err = proc.communicate(timeout=max(0.01, end - time.monotonic()))
                results.append((proc.returncode, out, err))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                out, err = proc.communicate()
                results.append((None, out, err))
        return results

    def run_step(self, name: str) -> None:
        timeout = self._timeout(name)
        started = time.monotonic()
        if timeout < 1.0:  # no step can start, let alone finish, in under a second
            self.steps[name] = {"status": "not_run", "reason": "the check's deadline passed before this step"}
            return
        try:
            record = getattr(self, f"_{name}")(timeout)
        except Exception as err:  # a step's own bug is a failed step, not a crashed check
            record = {"status": "fail", "error": f"{type(err).__name__}: {err}"}
        record["seconds"] = round(time.monotonic() - started, 2)
        record["timeout_s"] = round(timeout, 1)
        self.steps[name] = record

    def _in_process(self, step: str, timeout: float, copies: int = 1) -> list[dict[str, Any]]:
        argv = [sys.executable, str(Path(__file__).resolve()), "--step", step, "--kind", self.kind]
        if self.smoke:
            argv.append("--cpu-smoke")
        results = self._wait([self._spawn(argv) for _ in range(copies)], timeout)
        out = []
        for code, stdout, stderr in results:
            if code is None:
                out.append({"ok": False, "error": f"timed out after {timeout:.0f} s (process group killed)"})
                continue
            try:
                out.append(json.loads(stdout.strip().splitlines()[-1]))
            except (ValueError, IndexError):
                out.append({"ok": False, "error": f"exit {code}: {stderr.strip()[-2000:]}"})
        return out

    def _simple(self, step: str, timeout: float) -> dict[str, Any]:
        if self.smoke and step == "nvml_probe":
            return {"status": "skipped", "reason": "CUDA step: no GPU in --cpu-smoke"}
        result = self._in_process(step, timeout)[0]
        return {"status": "pass" if result.get("ok") else "fail", "result": result}

    def _nvml_probe(self, timeout: float) -> dict[str, Any]:
        return self._simple("nvml_probe", timeout)

    def _sweep(self, timeout: float) -> dict[str, Any]:
        return self._simple("sweep", timeout)

    def _sustained(self, timeout: float) -> dict[str, Any]:
        return self._simple("sustained", timeout)

    def _triad(self, timeout: float) -> dict[str, Any]:
        return self._simple("triad", timeout)

    def _sdc_hashes(self, timeout: float) -> dict[str, Any]:
        results = self._in_process("sdc_hash", timeout, copies=3)
        hashes = [r.get("hash") for r in results]
        agree = all(r.get("ok") for r in results) and len(set(hashes)) == 1 and hashes[0] is not None
        return {"status": "pass" if agree else "fail", "hashes": hashes,
                "errors": [r["error"] for r in results if "error" in r],
                "fp64_worst_error_to_bound": [(r.get("fp64") or {}).get("worst_error_to_bound") for r in results]}

    def _suite(self, tag: str, args: list[str], timeout: float, inject: str | None = None) -> dict[str, Any]:
        folder = self.out / tag
        argv = [sys.executable, "-m", "aifactory.burnin", "run", "--device-type", self.kind, "--format", "json",
                "--no-plots", "--out", str(folder), *args]
        env = {INJECT_ENV: inject} if inject else None
        started = time.monotonic()
        ((code, _stdout, stderr),) = self._wait([self._spawn(argv, env)], timeout)
        path = folder / "burnin-report.json"
        report = json.loads(path.read_text(encoding="utf-8")) if path.exists() else None
        return {"exit_code": code, "report": report, "wall_s": time.monotonic() - started,
                "stderr_tail": stderr[-1500:], "argv": argv[1:]}

    def _quick(self, timeout: float) -> dict[str, Any]:
        r = self._suite("quick", ["--profile", "quick"], timeout)
        rep = r["report"]
        if rep is None:
            return {"status": "fail", "error": f"no report (exit {r['exit_code']})", "stderr": r["stderr_tail"]}
        verdict = rep["node"]["verdict"]
        reasons = [f"{x.get('gpu', 'node')}:{x['code']}" for x in rep["node"]["reasons"] if x["severity"] != "info"]
        if self.smoke:  # a CPU run is judged for finishing cleanly; its verdict says nothing about a GPU
            ok = r["exit_code"] == 0 and not rep["run"]["partial"]
        else:
            ok = verdict == "PASS" and r["exit_code"] == 0
        return {"status": "pass" if ok else "fail", "verdict": verdict, "exit_code": r["exit_code"],
                "reasons": reasons, "report": str(self.out / "quick" / "burnin-report.json"),
                "figures": _figures(rep)}

    def _fault(self, kind: str, timeout: float) -> dict[str, Any]:
        phases, cuda_codes, cpu_codes = FAULTS[kind]
        want = cpu_codes if self.smoke else cuda_codes
        args = ["--profile", "quick", "--phases", phases] + ([] if self.smoke else ["--node-budget", "60"])
        if self.smoke and kind == "slow":
            # CPU workers sharing two cores differ by up to a quarter: the robust z needs more than two healthy
            # peers to tell the slow one from noise (as tests/burnin/test_burnin_inject.py's run).
            args += ["--devices", "0,1,2,3,4"]
        elif self.smoke:
            args += ["--devices", "0"]
        r = self._suite(f"fault-{kind}", args, timeout, inject=f"{kind}:0")
        rep = r["report"]
        if rep is None:
            return {"status": "fail", "error": f"no report (exit {r['exit_code']})", "stderr": r["stderr_tail"]}
        got = {x["code"] for x in rep["gpus"][0]["reasons"] if x["severity"] == "fail"}
        others = {x["code"] for g in rep["gpus"][1:] for x in g["reasons"] if x["code"] in want}
        caught = want <= got and r["exit_code"] == 1 and rep["node"]["verdict"] == "FAIL" and not others
        return {"status": "pass" if caught else "fail", "expected": sorted(want), "found_on_gpu0": sorted(got),
                "found_on_others": sorted(others), "exit_code": r["exit_code"]}

    def _fault_sdc(self, timeout: float) -> dict[str, Any]:
        return self._fault("sdc", timeout)

    def _fault_nan(self, timeout: float) -> dict[str, Any]:
        return self._fault("nan", timeout)

    def _fault_slow(self, timeout: float) -> dict[str, Any]:
        return self._fault("slow", timeout)

    def _hang(self, timeout: float) -> dict[str, Any]:
        budget = 40.0 if not self.smoke else 90.0
        args = ["--profile", "quick", "--phases", "preflight,compute", "--node-budget", str(budget)]
        if self.smoke:
            args += ["--devices", "0"]
        r = self._suite("hang", args, timeout, inject="hang:0")
        rep = r["report"]
        if rep is None:
            return {"status": "fail", "error": f"no report (exit {r['exit_code']})", "stderr": r["stderr_tail"]}
        compute = rep["gpus"][0]["phases"]["compute"]
        codes = [x["code"] for x in compute["reasons"]]
        pid = int(compute.get("error", "PID -1").rsplit("PID ", 1)[1]) if "PID " in compute.get("error", "") else -1
        gone = pid > 0 and not _alive(pid)
        ok = codes[:1] == ["WORKER_TIMEOUT"] and gone and r["exit_code"] == 1 and r["wall_s"] <= budget + 30
        return {"status": "pass" if ok else "fail", "codes": codes, "killed_pid": pid, "pid_gone": gone,
                "wall_s": round(r["wall_s"], 1), "node_budget_s": budget}

    # -- targets ---------------------------------------------------------------------------------------
    def targets(self) -> dict[str, dict[str, Any]]:
        sys.path.insert(0, str(ROOT))
        from aifactory.burnin.catalog import identify, load_catalog

        out: dict[str, dict[str, Any]] = {}
        sweep = (self.steps.get("sweep") or {}).get("result") or {}
        sustained = (self.steps.get("sustained") or {}).get("result") or {}
        triad = (self.steps.get("triad") or {}).get("result") or {}
        ref = identify(sweep.get("device") or "", load_catalog()) if not self.smoke else None
        peak, hbm = (ref.figure("bf16_tflops"), ref.figure("hbm_tbps")) if ref else (None, None)
        best = (sweep.get("best") or {}).get("tflops")
        sus = sustained.get("tflops_sustained")
        gbps = triad.get("gbps")
        values = {
            "sustained_vs_sweep_best": (sus / best) if sus and best else None,
            "sustained_vs_spec_bf16": (sus / peak) if sus and peak else None,
            "triad_vs_spec_hbm": (gbps / 1000 / hbm) if gbps and hbm else None,
        }
        for key, limit in TARGETS.items():
            v = values[key]
            if self.smoke:
                out[key] = {"value": v, "limit": limit, "met": None, "status": "skipped",
                            "reason": "GPU target: CPU figures say nothing about a GPU"}
            else:
                out[key] = {"value": v, "limit": limit, "met": None if v is None else v >= limit,
                            "status": "fail" if v is None or v < limit else "pass"}
        out["peak_and_sustained"] = {"peak_sweep_best_tflops": best, "peak_shape": sweep.get("best"),
                                     "sustained_tflops": sus, "spec_bf16_tflops": peak, "spec_hbm_tbps": hbm,
                                     "gpu_id": ref.gpu_id if ref else None, "status": "info"}
        faults = [self.steps.get(f"fault_{k}", {}).get("status") for k in FAULTS]
        out["every_fault_caught"] = {"status": "pass" if all(s == "pass" for s in faults) else "fail",
                                     "met": all(s == "pass" for s in faults)}
        quick = self.steps.get("quick") or {}
        out["quick_pass_no_warn"] = (
            {"status": "skipped", "met": None, "reason": "CPU run: the GPU verdict is not judged",
             "cpu_exit_code": quick.get("exit_code")}
            if self.smoke
            else {"status": "pass" if quick.get("status") == "pass" else "fail", "met": quick.get("status") == "pass",
                  "verdict": quick.get("verdict"), "reasons": quick.get("reasons")}
        )
        for key, needs in TARGET_STEPS.items():  # a target whose steps were left out (--steps) is not judged
            if not set(needs) <= set(self.selected):
                out[key] = {**out[key], "status": "not_selected", "met": None}
        return out

    def write(self) -> int:
        targets = self.targets()
        failed = sorted([f"step {k}" for k, v in self.steps.items() if v["status"] in ("fail", "not_run")]
                        + [f"target {k}" for k, v in targets.items() if v["status"] == "fail"])
        doc = {"kind": "aifactory.burnin.device-check", "mode": "cpu-smoke" if self.smoke else "cuda",
               "python": sys.version.split()[0], "seconds": round(time.monotonic() - self.t0, 1),
               "steps": self.steps, "targets": targets, "failed": failed, "ok": not failed}
        text = json.dumps(doc, indent=2, sort_keys=True, default=str) + "\n"
        tmp = self.out / ".device-check.json.tmp"
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, self.out / "device-check.json")
        return 0 if not failed else 1


def _figures(rep: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for g in rep["gpus"]:
        ph = g["phases"]
        m = {k: (ph.get(k) or {}).get("metrics") or {} for k in ("compute", "sdc", "memory", "pcie", "stress")}
        out[str(g["index"])] = {
            "tflops_sustained": m["compute"].get("tflops_sustained"),
            "tflops_cold": m["compute"].get("tflops_cold"),
            "triad_gbps": (m["memory"].get("triad") or {}).get("gbps"),
            "integrity_passes": (m["memory"].get("integrity") or {}).get("passes"),
            "h2d_gbps": m["pcie"].get("h2d_gbps"),
            "stress_tflops": m["stress"].get("tflops_median"),
            "sdc_fp64": (m["sdc"].get("fp64") or {}),
            "derived": g.get("derived"),
        }
    return out


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=os.environ.get("OUT") or "device-check-out", help="results folder (default $OUT)")
    p.add_argument("--cpu-smoke", action="store_true", help="tiny sizes on the CPU; GPU targets skipped")
    p.add_argument("--steps", default=None, help=f"comma-separated subset of {','.join(ORDER)}")
    p.add_argument("--deadline", type=float, default=DEADLINE_S, help="seconds for the whole check")
    p.add_argument("--step", default=None, help=argparse.SUPPRESS)  # internal: run one in-process step
    p.add_argument("--kind", default="cuda", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.step:
        print(json.dumps(IN_PROCESS[args.step](args.kind, args.cpu_smoke), sort_keys=True, default=str))
        return 0
    steps = tuple(s.strip() for s in args.steps.split(",")) if args.steps else ORDER
    unknown = [s for s in steps if s not in ORDER]
    if unknown or args.deadline <= 0:
        print(f"error: unknown step(s) {unknown} or a deadline that is not positive; steps: {', '.join(ORDER)}",
              file=sys.stderr)
        return 2
    if not args.cpu_smoke:
        import torch

        if not torch.cuda.is_available():
            print("error: no CUDA device; use --cpu-smoke for a dry run", file=sys.stderr)
            return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    check = Check(out, args.cpu_smoke, args.deadline, steps)
    for name in ORDER:
        if name in steps:
            print(f"device check: {name}", file=sys.stderr, flush=True)
            check.run_step(name)
            print(f"device check: {name} -> {check.steps[name]['status']}", file=sys.stderr, flush=True)
    code = check.write()
    print(json.dumps({"ok": code == 0, "failed": json.loads((out / "device-check.json").read_text())["failed"]}))
    return code


if __name__ == "__main__":
    sys.exit(main())
