"""The lab end to end: up with two compute nodes on a network with no route out, every package installed
from the lab's own mirrors, Slurm runs across them with accounting (a 2-node job in sacct, a tenant's GPU limit
holding back an over-quota job), burn-in lands in MLflow, Prometheus scrapes every node, the factory produces
(the lab blueprint's workloads trained across both nodes, gated into the registry, served by KServe, measured
in tokens/s) and iterates twice (a better successor promoted under load with no failed request, a worse one
refused), a second converge changes nothing (nor does the Pulumi node-group provider's), the hosts run the lab
image as the lab's own OCI registry served it, and down leaves nothing behind (no server, registry, container,
network or bridge)."""

from __future__ import annotations

import errno
import ipaddress
import itertools
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.root]


def _cli(*args: str, timeout: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO / "cli.py"), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _exec(host: str, *command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["podman", "exec", host, *command], capture_output=True, text=True, timeout=90, check=False,
        env={**os.environ, "CONTAINERS_CONF": "/var/lib/aifactory/lab/containers.conf"},
    )  # fmt: skip


def _node_targets(prometheus: str, timeout_s: float = 90) -> dict[str, str]:
    """Node-exporter targets and their health, once every one has been scraped (bounded wait)."""
    deadline = time.monotonic() + timeout_s
    while True:
        with urllib.request.urlopen(prometheus + "/api/v1/targets", timeout=10) as resp:
            targets = json.load(resp)["data"]["activeTargets"]
        health = {t["labels"]["instance"]: t["health"] for t in targets if t["labels"]["job"] == "node"}
        if all(h == "up" for h in health.values()) or time.monotonic() > deadline:
            return health
        time.sleep(3)


def _outside_address(subnet: str) -> str:
    """An address of this machine outside the lab subnet (its own interface, never a remote host)."""
    out = subprocess.run(["ip", "-4", "-o", "addr", "show", "scope", "global"], capture_output=True, text=True,
                         check=True).stdout  # fmt: skip
    lab = ipaddress.ip_network(subnet)
    for line in out.splitlines():
        addr = ipaddress.ip_interface(line.split()[3]).ip
        if addr not in lab:
            return str(addr)
    pytest.fail(f"this machine has no address outside {subnet} to test the lab's isolation against")


def _no_way_out(host: str, outside: str) -> None:
    """The host has no default route, and connecting to an address of this machine off the lab network fails
    for want of a route (not because the port is closed)."""
    routes = _exec(host, "ip", "-4", "route", "show").stdout
    assert "default" not in routes, routes
    probe = _exec(host, "python3", "-c", "import socket, sys\n"
                  "try:\n    socket.create_connection((sys.argv[1], 22), timeout=5)\n"
                  "except OSError as e:\n    print(e.errno)\nelse:\n    print('connected')", outside)  # fmt: skip
    assert str(errno.ENETUNREACH) == probe.stdout.strip(), (probe.stdout, probe.stderr)


def _installed(host: str) -> set[str]:
    out = _exec(host, "dpkg-query", "-W", "-f", "${db:Status-Status} ${Package}=${Version}\n").stdout
    return {line.split()[1] for line in out.splitlines() if line.startswith("installed ")}


def _only_the_mirror(host: str, mirror: dict[str, str], bare: set[str], offered: set[str]) -> None:
    """apt knows no source but the lab's mirror, and every package the roles installed (all that the bare
    image did not hold) is a version the mirror serves, installed from it."""
    sources = _exec(host, "find", "/etc/apt/sources.list", "/etc/apt/sources.list.d", "-type", "f").stdout
    assert ["/etc/apt/sources.list.d/aifactory-mirror.sources"] == sources.split(), sources
    lists = _exec(host, "sh", "-c", "cd /var/lib/apt/lists && ls -p | grep -v / | grep -v '^lock$'").stdout
    prefix = f"{mirror['address']}:{mirror['port']}_apt_dists_bookworm_"
    names = [n.replace("%3a", ":") for n in lists.split()]
    assert names and all(n.startswith(prefix) for n in names), names
    added = _installed(host) - bare
    assert added, f"{host}: the roles installed no package"
    assert not added - offered, f"{host}: installed but not from the mirror: {sorted(added - offered)}"
    # apt's own word for one of them: the installed version's origins are the mirror and dpkg's status only.
    policy = _exec(host, "apt-cache", "policy", "slurm-client").stdout
    table = policy.split("***", 1)[1].splitlines()[1:]
    origins = [line.split(None, 1)[1] for line in itertools.takewhile(lambda x: x.startswith("        "), table)]
    assert f"{mirror['url']}/apt bookworm/main amd64 Packages" in origins, policy
    assert {"/var/lib/dpkg/status", f"{mirror['url']}/apt bookworm/main amd64 Packages"} >= set(origins), policy


def _mirror_packages(url: str) -> set[str]:
    with urllib.request.urlopen(url + "/apt/dists/bookworm/main/binary-amd64/Packages", timeout=30) as resp:
        text = resp.read().decode()
    fields = [dict(line.split(": ", 1) for line in stanza.splitlines() if ": " in line and line[0] != " ")
              for stanza in text.split("\n\n") if stanza.strip()]  # fmt: skip
    return {f"{f['Package']}={f['Version']}" for f in fields}


def _bare_packages(image: str) -> set[str]:
    out = subprocess.run(
        ["podman", "run", "--rm", "--network", "none", image, "dpkg-query", "-W", "-f", "${Package}=${Version}\n"],
        capture_output=True, text=True, timeout=120, check=True,
        env={**os.environ, "CONTAINERS_CONF": "/var/lib/aifactory/lab/containers.conf"},
    ).stdout  # fmt: skip
    return set(out.split())


def _pid_alive(pid: int) -> bool:
    try:
        return b"http.server" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _hosts_from_the_registry(reg: dict[str, Any], gateway: str, hosts: list[str], ctl: str) -> None:
    """Every host was created from the lab image by the lab registry's reference by digest, the registry (on
    the bridge address, reachable from the hosts) lists it, and its log shows the manifest served by digest."""
    from aifactory.lab.registry import LAB_REPOSITORY, LOG, catalog

    assert gateway == reg["address"]
    assert reg["image"].startswith(f"{gateway}:{reg['port']}/{LAB_REPOSITORY}@sha256:"), reg
    for host in hosts:
        made = subprocess.run(["podman", "container", "inspect", "--format", "{{.ImageName}} {{.Image}}", host],
                              capture_output=True, text=True, timeout=60, check=True).stdout.split()  # fmt: skip
        assert [reg["image"], reg["image_id"]] == made, host
    assert [LAB_REPOSITORY] == catalog(reg["url"])
    fetch = "import sys, urllib.request\nprint(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())"
    seen = _exec(ctl, "python3", "-c", fetch, reg["url"] + "/v2/_catalog")
    assert LAB_REPOSITORY in json.loads(seen.stdout)["repositories"], (seen.stdout, seen.stderr)
    log = (Path(reg["dir"]) / LOG).read_text()
    assert f"GET /v2/{LAB_REPOSITORY}/manifests/{reg['image'].split('@')[1]}" in log


# -- the node check between jobs (aifactory.burnin.health as Slurm's Epilog and HealthCheckProgram) --------
def _slurm(ctl: str, *command: str) -> str:
    done = _exec(ctl, "timeout", "60", *command)
    assert done.returncode == 0, (command, done.stdout, done.stderr)
    return done.stdout


def _node_is(ctl: str, node: str, state: str, reason: str, timeout_s: float = 90) -> tuple[str, str]:
    """Wait (bounded) until `sinfo` shows the node in `state` with a reason starting `reason`."""
    deadline = time.monotonic() + timeout_s
    while True:
        seen = _slurm(ctl, "sinfo", "--noheader", "--Node", "--nodes", node, "--format=%T|%E").splitlines()[0]
        got_state, _, got_reason = seen.strip().partition("|")
        got_reason = "" if got_reason == "none" else got_reason
        if (got_state == state and got_reason.startswith(reason)) or time.monotonic() > deadline:
            return got_state, got_reason
        time.sleep(2)


def _health_drains_and_resumes(ctl: str) -> None:
    """A job that leaves lab002 without a GPU device file (the lab's simulated GPU gone): the epilog's check
    drains it with its reason; the device back, slurmd's restart runs HealthCheckProgram, which resumes it.
    A node an operator drained stays drained through a passing check."""
    _slurm(ctl, "srun", "--nodelist=lab002", "--nodes=1", "--job-name=break-gpu", "rm", "/dev/nvidia1")
    state, reason = _node_is(ctl, "lab002", "drained", "aifactory-health:")
    assert ("drained", "aifactory-health: 1 of 2 GPU device files present (/dev/nvidia1 missing)") == (state, reason)
    assert "lab002" in _slurm(ctl, "sinfo", "--list-reasons", "--noheader", "--format=%E|%n")
    _slurm(ctl, "scontrol", "update", "nodename=lab001", "state=drain", "reason=operator: rack maintenance")
    assert 0 == _exec("lab001", "/usr/local/sbin/aifactory-health-healthcheck").returncode
    assert ("drained", "operator: rack maintenance") == _node_is(ctl, "lab001", "drained", "operator", 5)
    _slurm(ctl, "scontrol", "update", "nodename=lab001", "state=resume")
    assert 0 == _exec("lab002", "mknod", "-m", "0666", "/dev/nvidia1", "c", "195", "1").returncode
    assert 0 == _exec("lab002", "systemctl", "restart", "slurmd").returncode
    assert ("idle", "") == _node_is(ctl, "lab002", "idle", "")
    assert ("idle", "") == _node_is(ctl, "lab001", "idle", "", 30)


# -- accounting (roles/slurm_dbd: slurmdbd with MariaDB on the controller, tenant `lab` limited to 2 GPUs) ----
def _sacct_job(ctl: str, name: str, timeout_s: float = 60) -> list[str]:
    """The named job's allocation line in slurmdbd (bounded wait: slurmctld sends job records to slurmdbd as it
    goes)."""
    deadline = time.monotonic() + timeout_s
    while True:
        lines = _slurm(ctl, "sacct", "--noheader", "--parsable2", "--allocations", f"--name={name}",
                       "--format=Account,NNodes,AllocTRES,State").splitlines()  # fmt: skip
        if (lines and lines[0].split("|")[-1] == "COMPLETED") or time.monotonic() > deadline:
            return lines
        time.sleep(2)


def _accounting_and_quota(ctl: str) -> None:
    """A 2-node job is in sacct with its nodes and GPUs; under the tenant's account, whose GPU quota is 0
    (blueprints/lab.yaml), a job asking for one GPU is refused or waits on the account's limit and never starts."""
    assocs = _slurm(ctl, "sacctmgr", "--noheader", "--parsable2", "show", "association", "where", "cluster=lab",
                    "format=account,user,grptres").split()  # fmt: skip
    assert "lab||gres/gpu=0" in assocs, assocs
    # root's own association (made with the cluster, account root) has no limit.
    out = _slurm(ctl, "srun", "--nodes=2", "--gres=gpu:1", "--job-name=acct-2n", "hostname")
    assert ["lab001", "lab002"] == sorted(out.split())
    line = _sacct_job(ctl, "acct-2n")
    assert len(line) == 1, f"the 2-node job is not in sacct once: {line}"
    account, nodes, tres, state = line[0].split("|")
    assert ("root", "2", "COMPLETED") == (account, nodes, state), line
    assert "gres/gpu=2" in tres.split(","), line
    # Users join tenant accounts outside the factory, as an operator does.
    _slurm(ctl, "sacctmgr", "--immediate", "add", "user", "root", "account=lab")
    # Refused at submission (the job can never fit the limit) or held pending on the association's GRES limit.
    big = _exec(ctl, "timeout", "60", "sbatch", "--parsable", "--account=lab", "--nodes=1", "--gres=gpu:1",
                "--job-name=over-quota", "--wrap=hostname")  # fmt: skip
    if big.returncode != 0:
        assert "accounting/QOS policy" in big.stderr, (big.stdout, big.stderr)
        return
    job, deadline, state, reason = big.stdout.strip(), time.monotonic() + 30, "", ""
    while time.monotonic() < deadline:
        state, _, reason = _slurm(ctl, "squeue", "--noheader", "--jobs", job, "--format=%T|%r").strip().partition("|")
        if reason.startswith("Assoc"):
            break
        time.sleep(2)
    _slurm(ctl, "scancel", job)
    assert ("PENDING", "AssocGrpGRES") == (state, reason)


# -- what the factory produces (aifactory/lab/produce.py: the lab blueprint's mlops.workloads, rendered and run) --
def _targets(prometheus: str, job: str, timeout_s: float = 90) -> dict[str, str]:
    deadline = time.monotonic() + timeout_s
    while True:
        with urllib.request.urlopen(prometheus + "/api/v1/targets", timeout=10) as resp:
            targets = json.load(resp)["data"]["activeTargets"]
        health = {t["labels"]["instance"]: t["health"] for t in targets if t["labels"]["job"] == job}
        if (health and all(h == "up" for h in health.values())) or time.monotonic() > deadline:
            return health
        time.sleep(3)


def _produced(data: dict[str, Any]) -> None:
    """Trained across both nodes under srun, registered and promoted by the gate, served by KServe on the last
    node, measured by the benchmark job over the lab network, and reported against the plan in MLflow; Prometheus
    scrapes the replica through the rendered file_sd targets and holds the rendered serving alerts."""
    from aifactory.lab.mlflow_rest import alias_version, search_runs

    prod = data["production"]
    assert "ran" == prod.get("status"), prod
    assert (prod["train"]["processes"], prod["eval"]["version"], prod["eval"]["promoted"]) == (2, "1", True), prod
    assert prod["eval"]["val_loss"] < 3.0, prod["eval"]
    mlflow = data["services"]["mlflow"]
    assert "1" == alias_version(mlflow, "tinylm", "champion")
    assert (prod["serving"]["host"], prod["serving"]["version"]) == ("lab002", "1"), prod["serving"]
    bench = prod["bench"]
    assert bench["completed"] == 64 and bench["output_tokens_per_s"] > 0, bench
    assert bench["p99_e2el_ms"] >= bench["p50_e2el_ms"] > 0, bench
    assert prod["plan"]["tokens_per_s"] is None and "cpu-lab" in prod["plan"]["reason"], prod["plan"]
    assert prod["energy"]["tokens_per_joule"] is not None or "no energy counter" in prod["energy"]["reason"]
    kpi = [r for r in search_runs(mlflow, "lab-kpi") if r["info"]["run_id"] == prod["mlflow_run_id"]]
    assert kpi and {"output_tokens_per_s", "p99_e2el_ms"} <= {m["key"] for m in kpi[0]["data"]["metrics"]}
    assert {"lab002:8000": "up"} == _targets(data["services"]["prometheus"], "aifactory-serving")
    with urllib.request.urlopen(data["services"]["prometheus"] + "/api/v1/rules", timeout=10) as resp:
        rules = [r["name"] for g in json.load(resp)["data"]["groups"] for r in g["rules"]]
    assert any("Quality" in r for r in rules) and any("Latency" in r for r in rules), rules
    status = _cli("lab", "status", "--format", "json", timeout=120)
    live = json.loads(status.stdout)["serving"]
    assert (live["ready"], live["version"]) == (True, "1"), live


def _iterations(mlflow: str) -> None:
    """`lab iterate`: a successor from the champion on new data is promoted and served with no failed request;
    then a worse one (a few steps from scratch) is refused, and the champion keeps serving."""
    from aifactory.lab.mlflow_rest import alias_version

    better = _cli("lab", "iterate", "--format", "json", timeout=900)
    assert better.returncode == 0, better.stdout[-3000:] + better.stderr[-3000:]
    it = json.loads(better.stdout[better.stdout.index("{") :])
    assert it["new_data"] == ["train-2.txt"] and it["decision"]["promoted"] is True, it
    assert (it["before"], it["after"]) == ({"champion": "1", "served": "1"}, {"champion": "2", "served": "2"}), it
    assert it["traffic"]["failed"] == 0 and list(it["traffic"]["versions"]) == ["1", "2"], it["traffic"]
    worse = _cli("lab", "iterate", "--steps", "5", "--fresh", "--format", "json", timeout=900)
    assert worse.returncode == 0, worse.stdout[-3000:] + worse.stderr[-3000:]
    it = json.loads(worse.stdout[worse.stdout.index("{") :])
    assert (it["decision"]["version"], it["decision"]["promoted"]) == ("3", False), it
    assert it["after"] == {"champion": "2", "served": "2"} and it["traffic"]["failed"] == 0, it
    assert list(it["traffic"]["versions"]) == ["2"], it["traffic"]
    assert "2" == alias_version(mlflow, "tinylm", "champion")


@pytest.mark.skipif(os.geteuid() != 0, reason="the lab needs root")
def test_lab_up_run_and_down() -> None:
    up = _cli("lab", "up", "--nodes", "2", "--format", "json", timeout=1500)
    try:
        assert "{" in up.stdout, f"lab up printed no result (exit {up.returncode}): {up.stderr[-4000:]}"
        data = json.loads(up.stdout[up.stdout.index("{") :])
        assert data["converge"]["succeeded"], up.stdout[-4000:]
        ctl = data["controller"]
        assert ["lab001", "lab002", "slurmctl01"] == sorted(data["addresses"])
        mirror, network = data["mirror"], data["network"]
        # Air-gapped: no host has a route off the lab network; the mirrors answer on this machine's bridge
        # address, and every package the roles installed came from them.
        outside = _outside_address("10.99.1.0/24")
        from aifactory.lab.image import LAB, image_ref

        bare, offered = _bare_packages(image_ref(LAB)), _mirror_packages(mirror["url"])
        assert network["gateway"] == mirror["address"]
        for host in data["addresses"]:
            _no_way_out(host, outside)
            _only_the_mirror(host, mirror, bare, offered)
        _hosts_from_the_registry(data["registry"], network["gateway"], sorted(data["addresses"]), ctl)
        # MLflow came from the PyPI mirror into the role's own venv, not from this machine's.
        pip_conf = _exec(ctl, "cat", "/etc/pip.conf").stdout
        assert f"index-url = {mirror['url']}/pypi/simple" in pip_conf, pip_conf
        assert 0 == _exec(ctl, "test", "-x", "/opt/mlflow/venv/bin/mlflow").returncode
        hostnames = subprocess.run(
            ["podman", "exec", ctl, "timeout", "60", "srun", "-N2", "hostname"],
            capture_output=True, text=True, timeout=90, check=False,
            env={**os.environ, "CONTAINERS_CONF": "/var/lib/aifactory/lab/containers.conf"},
        )  # fmt: skip
        assert ["lab001", "lab002"] == sorted(hostnames.stdout.split()), hostnames.stderr
        # Production-like hosts: systemd is PID 1, every host holds the one factory munge key, and the
        # roles' daemons are the packages' (or the role's) units, active.
        assert {"systemd"} == {_exec(h, "cat", "/proc/1/comm").stdout.strip() for h in data["addresses"]}
        keys = {_exec(h, "sha256sum", "/etc/munge/munge.key").stdout.split()[0] for h in data["addresses"]}
        assert 1 == len(keys)
        units = {"munge", "slurmctld", "slurmdbd", "mariadb", "prometheus", "mlflow", "prometheus-node-exporter"}
        assert "active\n" * len(units) == _exec(ctl, "systemctl", "is-active", *sorted(units)).stdout
        assert "active\n" * 2 == _exec("lab001", "systemctl", "is-active", "munge", "slurmd").stdout
        assert "ran" == data["burnin"].get("status"), data["burnin"]
        # Every node reported a verdict (a shared, loaded CPU may make one WARN; that is the suite's call).
        assert ["lab001", "lab002"] == sorted(data["burnin"]["verdicts"])
        assert "MISSING" not in data["burnin"]["verdicts"].values()
        from aifactory.lab.mlflow_rest import search_runs

        runs = search_runs(data["services"]["mlflow"], "lab-burnin")
        assert data["burnin"]["mlflow_run_id"] in [r["info"]["run_id"] for r in runs]
        targets = _node_targets(data["services"]["prometheus"])
        assert {f"{addr}:9100": "up" for addr in data["addresses"].values()} == targets
        _produced(data)
        _accounting_and_quota(ctl)
        _health_drains_and_resumes(ctl)
        _iterations(data["services"]["mlflow"])
        again = _cli("lab", "converge", "--format", "json", timeout=900)
        assert json.loads(again.stdout[again.stdout.index("{") :])["changed"] == 0, again.stdout[-3000:]
        # The Pulumi node-group provider, stored and loaded back as the engine does, converges the same hosts
        # through limits of the same inventory, controller first, and changes nothing.
        from tests.lab.test_nodegroups_provider import converge_lab_through_provider

        converge_lab_through_provider()
    finally:
        down = _cli("lab", "down", timeout=300)
    assert down.returncode == 0, down.stderr
    assert not Path("/var/lib/aifactory/lab").exists()
    if "data" in locals():
        assert not _pid_alive(int(data["mirror"]["pid"])), "the mirror server outlived lab down"
        from aifactory.lab.registry import alive

        assert not alive(int(data["registry"]["pid"])), "the registry outlived lab down"
        bridge = subprocess.run(["ip", "link", "show", "dev", data["network"]["bridge"]], capture_output=True,
                                check=False)  # fmt: skip
        assert bridge.returncode != 0, f"bridge {data['network']['bridge']} left behind"
    network = subprocess.run(["podman", "network", "exists", "aifactory-lab"], capture_output=True, check=False)
    assert network.returncode != 0, "network aifactory-lab left behind"
    left = subprocess.run(["podman", "ps", "-a", "--filter", "label=aifactory.lab=1", "-q"],
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert left.stdout.strip() == ""
