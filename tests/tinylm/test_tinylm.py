"""The lab's language model outside the lab: it learns the shipped text (held-out loss well under the uniform
ln 256), two processes train it over gloo as torchrun starts them under srun, and the whole loop runs against a
real MLflow server and KServe's model server on loopback: train and register, gate, serve, measure, then promote
a better successor while a load generator keeps sending (no request fails; answers switch version) and refuse a
worse one (the served version stays).

The loop needs MLflow and KServe, which are in the lab hosts' locked set (requirements/lab.txt), not the
development set: it runs with the lab's venv (built by the lab test, which CI runs first) and skips without it."""

from __future__ import annotations

import json
import math
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import torch

from aifactory.lab.venv import venv_dir
from aifactory.render.workloads.templating import script
from aifactory.tinylm import loadgen
from aifactory.tinylm import model as lm

CORPUS = Path(lm.__file__).parent / "corpus"
LAB_PY = venv_dir() / "bin" / "python"
HAVE_LAB_VENV = (venv_dir() / ".complete").is_file()


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_model_learns_the_text_and_reloads_the_same(tmp_path: Path) -> None:
    out = tmp_path / "model"
    done = subprocess.run([sys.executable, "-m", "aifactory.tinylm.train", "--data", str(CORPUS), "--steps", "120",
                           "--out", str(out)], capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["data_bytes"] == 80074 and summary["processes"] == 1, summary  # train-1 and train-2
    net = lm.load(out)
    loss = lm.held_out_loss(net, lm.corpus(CORPUS / "heldout.txt"))
    assert loss < 2.8 < math.log(256), loss  # a uniform guess over bytes scores ln 256 = 5.55
    prompt = lm.encode("MENENIUS:\n")
    assert net.generate(prompt, 24) == lm.load(out).generate(prompt, 24)
    assert len(net.generate(prompt, 24)) == 24


def test_two_processes_train_over_gloo(tmp_path: Path) -> None:
    port = _port()
    done = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nnodes=1", "--nproc-per-node=2", "--rdzv-backend=c10d",
         f"--rdzv-endpoint=127.0.0.1:{port}", str(Path(lm.__file__).parent / "train.py"),
         "--data", str(CORPUS / "train-1.txt"), "--steps", "20", "--out", str(tmp_path / "m")],
        capture_output=True, text=True, timeout=300, check=False, env={**os.environ, "OMP_NUM_THREADS": "1"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["processes"] == 2 and summary["steps"] == 20, summary
    assert (tmp_path / "m" / "weights.pt").is_file()


def test_percentiles_interpolate_between_ranks() -> None:
    values = [float(v) for v in range(1, 101)]
    assert loadgen.percentile(values, 50) == pytest.approx(50.5)
    assert loadgen.percentile(values, 99) == pytest.approx(99.01)
    assert loadgen.percentile([3.0], 99) == 3.0
    assert torch.tensor(values).quantile(0.99).item() == pytest.approx(loadgen.percentile(values, 99))


class _Daemons:
    """Processes the test starts, stopped by PID."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, args: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
        with log.open("wb") as fh:
            proc = subprocess.Popen(args, stdout=fh, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        self.procs.append(proc)
        return proc

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()


def _wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()[-3000:]
        try:
            with urllib.request.urlopen(url, timeout=3) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"{url} did not answer within {timeout_s:.0f}s: {log.read_text()[-3000:]}")


def _run(args: list[str], env: dict[str, str]) -> dict[str, object]:
    done = subprocess.run(args, capture_output=True, text=True, timeout=300, check=False, env=env)
    assert done.returncode == 0, (args, done.stdout[-2000:], done.stderr[-3000:])
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _metric(url: str, name: str) -> float:
    with urllib.request.urlopen(url + "/metrics", timeout=10) as resp:
        for line in resp.read().decode().splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in /metrics")


@pytest.mark.slow
@pytest.mark.skipif(not HAVE_LAB_VENV, reason="no lab venv with MLflow and KServe (built by `aifactory lab up`)")
def test_train_register_serve_measure_promote_and_refuse(tmp_path: Path) -> None:
    daemons = _Daemons()
    mlflow_port, serve_port = _port(), _port()
    data = tmp_path / "data"
    data.mkdir()
    (data / "train-1.txt").write_bytes((CORPUS / "train-1.txt").read_bytes())
    tracking = f"http://127.0.0.1:{mlflow_port}"
    env = {**os.environ, "MLFLOW_TRACKING_URI": tracking, "MLFLOW_EXPERIMENT_NAME": "lab", "AIFACTORY_MODEL": "tinylm",
           "AIFACTORY_METRIC": "val_loss", "AIFACTORY_THRESHOLD": "3.0", "AIFACTORY_DIRECTION": "lower",
           "AIFACTORY_EVAL_NAME": "tinylm-heldout", "EVAL_RESULT": str(tmp_path / "eval.json"),
           "AIFACTORY_MODEL_URI": "models:/tinylm@challenger", "OMP_NUM_THREADS": "1",
           # The lab venv finds the package at the hosts' source mount; here, the tree this test runs from.
           "PYTHONPATH": str(Path(lm.__file__).resolve().parents[2])}  # fmt: skip
    gate = tmp_path / "gate.py"
    gate.write_text(script("gate.py"))
    train = [str(LAB_PY), str(Path(lm.__file__).parent / "train.py"), "--data", str(data)]
    evaluate = [str(LAB_PY), str(Path(lm.__file__).parent / "evaluate.py"), "--data", str(CORPUS / "heldout.txt")]

    def cycle(*train_args: str) -> dict[str, object]:
        trained = _run([*train, *train_args], env)
        subprocess.run([str(LAB_PY), str(gate), "challenger"], env=env, check=True, capture_output=True, timeout=120)
        _run(evaluate, env)
        decided = _run([str(LAB_PY), str(gate), "decide"], env)
        return {**trained, **decided}

    try:
        server = daemons.start(
            [str(LAB_PY), "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(mlflow_port),
             "--backend-store-uri", f"sqlite:///{tmp_path / 'mlflow.db'}",
             "--artifacts-destination", str(tmp_path / "artifacts"), "--workers", "1"],
            tmp_path / "mlflow.log", env,
        )  # fmt: skip
        _wait_http(tracking + "/health", server, tmp_path / "mlflow.log")
        first = cycle("--steps", "150")
        assert (first["version"], first["promoted"]) == ("1", True), first
        url = f"http://127.0.0.1:{serve_port}"
        served = daemons.start([str(LAB_PY), "-m", "aifactory.tinylm.serve", "--model", "tinylm", "--port",
                                str(serve_port), "--poll-s", "1"], tmp_path / "serve.log", env)  # fmt: skip
        _wait_http(url + "/v1/models/tinylm", served, tmp_path / "serve.log")
        bench = _run([str(LAB_PY), "-m", "aifactory.tinylm.loadgen", "--url", url, "--model", "tinylm",
                      "--requests", "24", "--concurrency", "3"], env)  # fmt: skip
        assert (bench["completed"], bench["failed"], bench["total_output_tokens"]) == (24, 0, 24 * 32), bench
        assert float(bench["output_throughput"]) > 0 and float(bench["p99_e2el_ms"]) >= float(bench["p50_e2el_ms"])
        assert _metric(url, "aifactory_serving_model_version") == 1.0
        assert _metric(url, "aifactory_serving_model_quality") == pytest.approx(float(first["val_loss"]))

        # A successor on new data, from the champion, while traffic flows.
        (data / "train-2.txt").write_bytes((CORPUS / "train-2.txt").read_bytes())
        stop = tmp_path / "stop"
        load = daemons.start([str(LAB_PY), "-m", "aifactory.tinylm.loadgen", "--url", url, "--model", "tinylm",
                              "--requests", "8", "--concurrency", "2", "--until-file", str(stop), "--result-file",
                              str(tmp_path / "load.json")], tmp_path / "load.log", env)  # fmt: skip
        better = cycle("--steps", "100", "--init-from", "models:/tinylm@champion")
        assert (better["version"], better["promoted"]) == ("2", True), better
        assert float(better["val_loss"]) < float(first["val_loss"])
        deadline = time.monotonic() + 30
        while _metric(url, "aifactory_serving_model_version") != 2.0 and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(2)
        # A worse one: a few steps from scratch. The gate refuses it; the champion keeps serving.
        worse = cycle("--steps", "5")
        assert (worse["version"], worse["promoted"]) == ("3", False), worse
        time.sleep(3)
        stop.touch()
        assert load.wait(timeout=60) == 0, (tmp_path / "load.log").read_text()[-2000:]
        traffic = json.loads((tmp_path / "load.json").read_text())
        assert traffic["failed"] == 0 and traffic["completed"] > 8, traffic
        assert list(traffic["versions"]) == ["1", "2"], traffic  # switched once, never to the refused version
        assert _metric(url, "aifactory_serving_model_version") == 2.0
    finally:
        daemons.stop()
