"""What every reference blueprint renders for the fabric and storage_client roles, and the validation errors
for a value the nodes' mount or rails need (exit 2, file:line)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from aifactory.blueprint import load_blueprint
from aifactory.cli.main import app
from aifactory.render.fabric_vars import fabric_vars
from aifactory.render.group_vars import design_plan, storage_vars

HOSTILE = Path(__file__).resolve().parents[1] / "hostile"
MOUNTS = {  # blueprint -> (fstab type, source, options)
    "dgx-h100-superpod": ("lustre", "10.2.255.250@o2ib:10.2.255.251@o2ib:/fs1", "defaults,_netdev,flock"),
    "b200-spectrum-x": ("wekafs", "weka01.b200.example.nl,weka02.b200.example.nl,weka03.b200.example.nl/default",
                        "x-systemd.requires=weka-agent.service,x-systemd.mount-timeout=infinity,_netdev"),
    "gb200-nvl72": ("nfs", "vast-vip.gb200.example:/", "vers=3,proto=tcp,nconnect=16,_netdev"),
    "edge-l40s-inference": ("nfs", "nfs01.edge.example:/export/models", "vers=4.2,_netdev"),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(MOUNTS))
def test_each_file_system_renders_its_real_mount(name: str) -> None:
    (mount,) = storage_vars(load_blueprint(name).model)["storage_client_mounts"]
    assert MOUNTS[name] == (mount["type"], mount["source"], mount["options"])


def test_lustre_renders_lnet_on_the_mgs_network() -> None:
    found = storage_vars(load_blueprint("dgx-h100-superpod").model)
    assert "o2ib(ibp41s0f0,ibp170s0f0)" == found["storage_client_lnet_networks"]


def test_infiniband_renders_partitions_rails_and_the_subnet_manager() -> None:
    bp = load_blueprint("dgx-h100-superpod").model
    found = fabric_vars(bp, design_plan(bp))
    assert [{"tenant": "research", "pkey": 0x0101}, {"tenant": "production", "pkey": 0x0102}] == found[
        "fabric_partitions"]
    assert [f"ib{r}" for r in range(8)] == found["fabric_rail_interfaces"]
    assert ("ufm", 26) == (found["fabric_subnet_manager"], found["fabric_rail_prefix"])
    assert "fabric_doca_version" not in found  # the network operator owns DOCA there


def test_a_host_owned_doca_renders_its_pin_and_repository() -> None:
    bp = load_blueprint("dgx-h200-sovereign-eu").model
    found = fabric_vars(bp, design_plan(bp))
    assert ("25.07", "doca-ofed") == (found["fabric_doca_version"], found["fabric_doca_package"])
    assert found["fabric_doca_repository"].startswith("https://apt.aifactory.example.de/")


def test_spectrum_x_renders_roce_qos() -> None:
    bp = load_blueprint("b200-spectrum-x").model
    found = fabric_vars(bp, design_plan(bp))
    assert {"trust": "dscp", "priority": 3, "dscp": 26, "pfc": True, "ecn": True} == found["fabric_roce_qos"]
    assert (9000, 8) == (found["fabric_mtu"], len(found["fabric_rail_interfaces"]))


CASES = {  # base, added YAML, the line the error names, the field
    "lustre": ("any-fs", "storage:\n  filesystem:\n    type: lustre\n    capacity: 1PB\n"
               "    read_throughput: 10GB/s\n    write_throughput: 5GB/s\n", 4, "mgs_nid"),
    "vast": ("any-fs", "storage:\n  filesystem:\n    type: vast\n    capacity: 1PB\n"
             "    read_throughput: 10GB/s\n    write_throughput: 5GB/s\n", 4, "vip_pool"),
    "ethernet-rails": ("lab", "fabric:\n  compute:\n    rail_interfaces: []\n", 5, "rail_interfaces"),
    "doca": ("dgx-h100-superpod", "software:\n  installed_by: {ofed: host}\n", 3, "ofed_repository"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_missing_value_is_an_input_error_on_its_line(tmp_path: Path, case: str) -> None:
    base, text, line, field = CASES[case]
    site = tmp_path / "site.yaml"
    if base == "any-fs":  # a base whose file system leaves no keys behind when the case replaces it
        (tmp_path / "any-fs.yaml").write_bytes((HOSTILE / "bases" / "any-fs.yaml").read_bytes())
        base = "any-fs.yaml"
    site.write_text(f"extends: {base}\nname: site\n{text}")
    result = CliRunner().invoke(app, ["validate", str(site)])
    assert 2 == result.exit_code, result.output
    assert f"site.yaml:{line}:" in result.output and field in result.output and "fix:" in result.output
