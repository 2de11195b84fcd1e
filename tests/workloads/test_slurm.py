"""The rendered Slurm workloads against the real Slurm: every sbatch script passes `bash -n`, and a real
slurmctld running the blueprint's own slurm.conf, gres.conf and topology.conf (in private namespaces, loopback
only, as tests/roles/test_slurmctld.py starts it) creates the energy schedule's reservations and takes every
sbatch script through `sbatch --test-only`.

The boundary: no slurmd runs, so every node stays UNKNOWN and slurmctld's will-run test ends each job with
"Requested node configuration is not available" (its answer for a job when no node is up). That answer comes
after sbatch parsed the #SBATCH options and slurmctld checked the partition and the reservation: each of those
wrong gives its own error first, as the controls below show. Too many nodes or GPUs get the same answer as no
node up, so those are the design's checks (aifactory.design.workloads, tests/workloads/test_bad_input.py)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from aifactory.blueprint import load_blueprint
from aifactory.design import plan
from aifactory.render.group_vars import slurm_group_vars
from aifactory.render.workloads import render_workloads
from tests.conftest import REPO
from tests.roles.slurm_files import write_config
from tests.roles.test_slurmctld import MUNGE_IN_NAMESPACE, _local

TOOLS = ("slurmctld", "munged", "mungekey", "unshare", "sbatch", "scontrol")
pytestmark = pytest.mark.skipif(
    any(shutil.which(t) is None and not Path("/usr/sbin", t).exists() for t in TOOLS),
    reason="Slurm (Debian slurmctld, slurm-client), munge or unshare not installed: scripts/debian-packages.txt",
)

# munged and slurmctld in the namespaces; once the controller serves, the reservations, then each job's test.
SCRIPT = MUNGE_IN_NAMESPACE + """slurmctld -D -c -f "$DIR/slurm.conf" > "$DIR/ctl.out" 2>&1 &
echo $! > "$DIR/ctl.pid"
trap 'kill "$(cat "$DIR/ctl.pid")" "$(cat "$DIR/munged.pid")" 2>/dev/null; wait' EXIT
i=0
until grep -q "Running as primary controller" "$DIR/slurmctld.log" 2>/dev/null; do
  i=$((i + 1)); [ $i -lt 150 ] || { echo "slurmctld did not start"; exit 1; }; sleep 0.2
done
export SLURM_CONF="$DIR/slurm.conf"
echo "== reservations"
sh "$JOBS/energy/reservations.sh" 2>&1
set +e
for job in "$JOBS"/*.sbatch; do
  echo "== $(basename "$job")"
  sbatch --test-only "$job" 2>&1
done
echo "== show"
scontrol show reservation
"""


NO_NODE_UP = "allocation failure: Requested node configuration is not available"
# One #SBATCH option of the training job made wrong, and the error slurmctld or sbatch gives for it.
CONTROLS = {
    "partition": ("--partition=train", "--partition=nope"),
    "reservation": ("--reservation=aif-train-", "--reservation=nope-"),
    "option": ("--exclusive", "--exclusivity"),
}
ERRORS = {
    "partition": "invalid partition specified",
    "reservation": "Requested reservation is invalid",
    "option": "unrecognized option",
}


def _tomorrow(tmp_path: Path) -> Path:
    """The Slurm reference blueprint beside a copy of its signal moved to tomorrow (Slurm refuses a reservation
    that starts in the past)."""
    day = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%d")
    (tmp_path / "signals").mkdir()
    signal_text = (REPO / "blueprints" / "signals" / "day-ahead-example.csv").read_text()
    (tmp_path / "signals" / "day-ahead-example.csv").write_text(signal_text.replace("2026-12-04", day))
    site = tmp_path / "site.yaml"
    shutil.copy(REPO / "blueprints" / "b200-spectrum-x.yaml", site)
    return site


def test_every_sbatch_script_is_valid_bash(tmp_path: Path) -> None:
    for name in ("b200-spectrum-x", "dgx-h100-superpod", "lab"):
        files, _ = render_workloads(load_blueprint(name), "t")
        scripts = {k: v for k, v in files.items() if k.endswith((".sbatch", ".sh"))}
        assert scripts
        for path, text in scripts.items():
            result = subprocess.run(["bash", "-n"], input=text, capture_output=True, text=True, check=False)
            assert 0 == result.returncode, f"{path}: {result.stderr}"


@pytest.mark.slow
def test_slurmctld_takes_the_reservations_and_admits_every_job(tmp_path: Path) -> None:
    loaded = load_blueprint(_tomorrow(tmp_path))
    files, _ = render_workloads(loaded, "t")
    jobs = tmp_path / "jobs"
    for rel, text in files.items():
        if rel.startswith("slurm/"):
            (jobs / rel.removeprefix("slurm/")).parent.mkdir(parents=True, exist_ok=True)
            (jobs / rel.removeprefix("slurm/")).write_text(text)
    train = files["slurm/train-pretrain-8b.sbatch"]
    for control, (old, new) in CONTROLS.items():
        assert old in train
        (jobs / f"control-{control}.sbatch").write_text(train.replace(old, new, 1))
    # Rendered for the Slurm that runs here, Debian 12's, as tests/roles/test_slurmctld.py does.
    bp = loaded.model
    bp = bp.model_copy(update={"software": bp.software.model_copy(update={"os": "debian-12", "slurm": "22.05"})})
    variables = slurm_group_vars(bp, plan(bp).hosts)
    conf = tmp_path / "conf"
    conf.mkdir()
    rendered = write_config(conf, variables)
    controller = str(variables["slurm_common_controller"])
    (conf / "slurm.conf").write_text(_local(rendered["slurm.conf"], conf, controller))
    (conf / "state").mkdir()
    (conf / "run").mkdir()
    env = {**os.environ, "CTL": controller, "DIR": str(conf), "RUN": str(conf / "run"), "JOBS": str(jobs)}
    unshare = ["unshare", "--net", "--mount", "--uts"] if os.geteuid() == 0 else [
        "unshare", "--user", "--map-root-user", "--net", "--mount", "--uts"]  # fmt: skip
    proc = subprocess.Popen([*unshare, "sh", "-c", SCRIPT], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)  # fmt: skip
    try:
        out, _ = proc.communicate(timeout=120)
    finally:
        for pid_file in ("ctl.pid", "munged.pid"):  # only what this test started
            path = conf / pid_file
            if path.exists() and path.read_text().strip().isdigit():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(path.read_text().strip()), signal.SIGTERM)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    assert 0 == proc.returncode, out[-3000:]
    answers = {s.split("\n", 1)[0]: s.split("\n", 1)[1].strip() for s in out.split("== ")[1:]}
    assert answers.pop("reservations").startswith("Reservation created: aif-train-"), out[-3000:]
    for control, error in ERRORS.items():
        assert error in answers.pop(f"control-{control}.sbatch"), out[-3000:]
    shown = answers.pop("show")
    assert "Nodes=b[200001-200032] NodeCnt=32" in shown and "Users=root" in shown, shown
    assert {"bench-chat-8b-tokens.sbatch", "eval-eval-8b.sbatch", "train-pretrain-8b.sbatch"} == set(answers)
    for job, answer in answers.items():
        assert NO_NODE_UP == answer, f"{job}: {answer}"


def test_the_embedded_helper_scripts_are_python() -> None:
    from aifactory.render.workloads.templating import script

    for name in ("gate.py", "bench_log.py"):
        compile(script(name), name, "exec")
