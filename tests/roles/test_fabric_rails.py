"""The fabric role's rail tasks on this machine (connection local), against a recorded device: a sysfs tree with
one HCA and its P_Key table as the subnet manager fills it, and ibstat / mlnx_qos / networkctl / systemctl
replaced by scripts that print the real tools' output format and log their arguments. Asserts on the files
written (network files, partitions.conf, UFM payloads, the tenants' NCCL files) and the commands issued."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.roles.local_play import run_local_play

# `ibstat -p`: one port GUID per line (infiniband-diags).
IBSTAT = "#!/bin/sh\necho \"ibstat $*\" >> {log}\nprintf '0x946dae0300a1b2c3\\n0x946dae0300a1b2c4\\n'\n"
# `mlnx_qos -i IF` before any setting: vendor default trust pcp, PFC off (the tool's own layout).
MLNX_QOS = """#!/bin/sh
echo "mlnx_qos $*" >> {log}
cat <<'OUT'
DCBX mode: OS controlled
Priority trust state: pcp
PFC configuration:
        priority    0   1   2   3   4   5   6   7
        enabled     0   0   0   0   0   0   0   0
        buffer      0   0   0   0   0   0   0   0
OUT
"""
LOGGER = "#!/bin/sh\necho \"{name} $*\" >> {log}\n"


def _tools(tmp_path: Path) -> dict[str, str]:
    log = tmp_path / "commands.log"
    bins = tmp_path / "bin"
    bins.mkdir()
    out = {}
    for name, body in {"ibstat": IBSTAT, "mlnx_qos": MLNX_QOS, "networkctl": LOGGER, "systemctl": LOGGER}.items():
        path = bins / name
        path.write_text(body.format(log=log, name=name))
        path.chmod(0o755)
        out[f"fabric_{name}"] = str(path)
    return out


def _sysfs(tmp_path: Path) -> Path:
    pkeys = tmp_path / "sys" / "infiniband" / "mlx5_0" / "ports" / "1" / "pkeys"
    pkeys.mkdir(parents=True)
    # The SM's table: default partition at 0, production (0x0102, full member) at 1, then empty entries.
    for index, value in enumerate(["0xffff", "0x8102", "0x0000", "0x0000"]):
        (pkeys / str(index)).write_text(value + "\n")
    return tmp_path / "sys" / "infiniband"


def _run(tmp_path: Path, variables: dict[str, Any]) -> str:
    sysfs = _sysfs(tmp_path)
    common = {
        **_tools(tmp_path), "fabric_sysfs_infiniband": str(sysfs), "fabric_sysfs_net": str(tmp_path / "net"),
        "fabric_networkd_dir": str(tmp_path / "network"), "fabric_nccl_tenant_dir": str(tmp_path / "nccl"),
        "fabric_opensm_partitions": str(tmp_path / "partitions.conf"), "fabric_sm_hosts": ["node01"],
        "fabric_ufm_payload_dir": str(tmp_path / "ufm"), "aifactory_su": 2,
        "fabric_ib_devices": {"matched": 1, "files": [{"path": str(sysfs / "mlx5_0")}]},
    }  # fmt: skip
    (tmp_path / "network").mkdir()
    play = [{"name": "Rails", "hosts": "node01", "gather_facts": False, "connection": "local",
             "vars": {**common, **variables},
             "tasks": [{"ansible.builtin.include_role": {"name": "fabric", "tasks_from": "rails"}}]}]  # fmt: skip
    done = run_local_play(tmp_path, play)
    assert 0 == done.returncode, done.stdout + done.stderr
    return (tmp_path / "commands.log").read_text() if (tmp_path / "commands.log").exists() else ""


IB = {"fabric_type": "infiniband", "fabric_rail_interfaces": ["ib0", "ib1"],
      "fabric_rail_ips": ["10.64.0.2", "10.64.1.2"], "fabric_rail_prefix": 26,
      "fabric_rail_prefix_by_su": {2: 27},
      "fabric_partitions": [{"tenant": "research", "pkey": 0x0101},
                            {"tenant": "production", "pkey": 0x0102}]}  # fmt: skip


def test_infiniband_rails_partitions_and_nccl_pkey_index(tmp_path: Path) -> None:
    log = _run(tmp_path, {**IB, "fabric_subnet_manager": "opensm"})
    network = (tmp_path / "network" / "60-aifactory-ib1.network").read_text()
    assert "Name=ib1\n" in network and "Address=10.64.1.2/27\n" in network and "MTUBytes" not in network
    partitions = (tmp_path / "partitions.conf").read_text().splitlines()
    assert "Default=0x7fff, ipoib : ALL=full ;" in partitions
    assert "research=0x0101, ipoib : 0x946dae0300a1b2c3=full, 0x946dae0300a1b2c4=full ;" in partitions
    # production's key sits at index 1 of the port's table; research is not programmed yet: no file.
    assert "NCCL_IB_PKEY=1\n" == (tmp_path / "nccl" / "production.conf").read_text()
    assert not (tmp_path / "nccl" / "research.conf").exists()
    assert ["ibstat -p", "systemctl kill --signal=HUP opensm", "networkctl reload"] == log.splitlines()


def test_ufm_gets_one_payload_per_tenant(tmp_path: Path) -> None:
    _run(tmp_path, {**IB, "fabric_subnet_manager": "ufm"})
    payload = json.loads((tmp_path / "ufm" / "research.json").read_text())
    assert {"pkey": "0x0101", "guids": ["946dae0300a1b2c3", "946dae0300a1b2c4"], "membership": "full",
            "index0": False, "ip_over_ib": True} == payload  # fmt: skip
    assert not (tmp_path / "partitions.conf").exists()


def test_roce_rails_get_mtu_pfc_dscp_trust_and_ecn(tmp_path: Path) -> None:
    for point in ("roce_np", "roce_rp"):
        enable = tmp_path / "net" / "eth1" / "ecn" / point / "enable"
        enable.mkdir(parents=True)
        (enable / "3").write_text("0\n")
    log = _run(tmp_path, {"fabric_type": "ethernet", "fabric_rail_interfaces": ["eth1"], "fabric_mtu": 9000,
                          "fabric_rail_ips": ["10.128.0.2"], "fabric_rail_prefix": 25,
                          "fabric_roce_qos": {"trust": "dscp", "priority": 3, "dscp": 26, "pfc": True, "ecn": True}})
    assert "MTUBytes=9000\n" in (tmp_path / "network" / "60-aifactory-eth1.network").read_text()
    assert "mlnx_qos -i eth1 --trust dscp --dscp2prio set,26,3 --pfc 0,0,0,1,0,0,0,0" in log.splitlines()
    assert "1" == (tmp_path / "net" / "eth1" / "ecn" / "roce_rp" / "enable" / "3").read_text().strip()
