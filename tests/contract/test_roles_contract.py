"""The contract between the inventory renderer, the site playbook and the roles, for every reference blueprint:
the plays' host patterns (evaluated by Ansible's own inventory manager) reach the hosts each role is for;
every variable a role reads (a Jinja2 AST walk over tasks, handlers, defaults and templates) is declared
in its argument specs and has a source; every variable the renderer writes is read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
import pytest
import yaml
from ansible.inventory.manager import InventoryManager
from ansible.parsing.dataloader import DataLoader
from jinja2 import meta, nodes

from aifactory.blueprint import load_blueprint
from aifactory.design import plan
from aifactory.render.group_vars import render_blueprint_inventory
from aifactory.render.inventory import kubernetes_nodes

REPO = Path(__file__).resolve().parents[2]
ROLES = REPO / "roles"
BLUEPRINTS = sorted(p.stem for p in (REPO / "blueprints").glob("*.yaml"))
SITE = yaml.safe_load((REPO / "playbooks" / "site.yml").read_text())
# Ansible's own variables (magic variables and gathered facts), read by roles without a declaration.
MAGIC = {
    "ansible_facts", "ansible_managed", "ansible_play_hosts_all", "groups", "hostvars", "inventory_hostname", "lookup",
    "item", "omit", "query",
}
BARE = {"when", "changed_when", "failed_when", "until", "that"}  # keys whose strings are bare expressions


def _role(name: str) -> str:
    return name.removeprefix("aifactory.factory.")


def _expected(host: Any, orchestrator: str, k8s_nodes: set[str]) -> set[str]:
    """The roles a host must get, from its design functions and, where both orchestrators share the fleet, the
    split rule's Kubernetes nodes (not from the inventory's groups): a compute node runs one scheduler."""
    f = set(host.functions)
    k8s = orchestrator == "kubernetes" or host.hostname in k8s_nodes
    slurm = orchestrator == "slurm" or (orchestrator == "both" and not k8s)
    roles = {"base", "node_exporter"}
    if "compute" in f:
        roles |= {"nvidia_driver", "dcgm", "power_caps", "burnin", "fabric"} | ({"slurm_compute"} if slurm else set())
        roles |= {"k8s_node"} if k8s else set()
    if "login" in f:
        roles |= {"fabric", "slurm_login"}
    if "storage-client" in f:
        roles.add("storage_client")
    if "slurm-controller" in f:
        roles |= {"slurm_controller", "slurm_dbd"}
        roles |= {r for fn, r in (("monitoring", "prometheus"), ("mlflow", "mlflow")) if fn in f}
    if "k8s-control-plane" in f:
        roles.add("k8s_node")
    return roles


@pytest.mark.parametrize("name", BLUEPRINTS)
def test_plays_reach_the_hosts_each_role_is_for(tmp_path: Path, name: str) -> None:
    bp = load_blueprint(REPO / "blueprints" / f"{name}.yaml").model
    hosts = plan(bp).hosts
    (tmp_path / "hosts.yml").write_text(render_blueprint_inventory(bp, hosts)["hosts.yml"])
    manager = InventoryManager(loader=DataLoader(), sources=[str(tmp_path / "hosts.yml")])
    manager.add_group("aifactory_stale")  # what the converge check's group_by makes of a first converge
    for host in manager.get_hosts("all"):
        manager.add_host(host.name, group="aifactory_stale")
    got: dict[str, set[str]] = {h.hostname: set() for h in hosts}
    for play in SITE:
        for role in play.get("roles", []):
            for host in manager.get_hosts(play["hosts"]):
                got[host.name].add(_role(role["role"]))
    orchestrator = str(bp.mlops.orchestrator.type)
    share = getattr(bp.mlops.orchestrator, "kubernetes_share", 0.0)
    k8s_nodes = set(kubernetes_nodes(hosts, share)) if orchestrator == "both" else set()
    assert orchestrator != "both" or 0 < len(k8s_nodes) < len([h for h in hosts if "compute" in h.functions])
    assert {h.hostname: _expected(h, orchestrator, k8s_nodes) for h in hosts} == got


class _AnyCallable(dict[str, Any]):
    """Filters and tests by any name (Ansible's own are not Jinja2's): parsing needs only that they exist."""

    def __contains__(self, key: object) -> bool:
        return True

    def get(self, key: str, default: Any = None) -> Any:
        return dict.get(self, key) or (lambda *a, **k: None)


ENV = jinja2.Environment(extensions=["jinja2.ext.do", "jinja2.ext.loopcontrols"])
ENV.filters, ENV.tests = _AnyCallable(ENV.filters), _AnyCallable(ENV.tests)


class Reads:
    def __init__(self) -> None:
        self.names: set[str] = set()  # undeclared variables the templates read
        self.strings: set[str] = set()  # string constants (hostvars[h]['x'], selectattr('x'))
        self.local: set[str] = {"item"}  # registered, set_fact and task vars

    def parse(self, source: str) -> None:
        ast = ENV.parse(source)
        self.names |= meta.find_undeclared_variables(ast)
        self.strings |= {n.value for n in ast.find_all(nodes.Const) if isinstance(n.value, str)}

    def walk(self, value: Any, key: str | None = None) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                if (k == "register" and isinstance(v, str)) or k == "loop_var":
                    self.local.add(v)
                if k in ("vars", "set_fact", "ansible.builtin.set_fact") and isinstance(v, dict):
                    self.local |= set(v)
                self.walk(v, k)
        elif isinstance(value, list):
            for v in value:
                self.walk(v, key)
        elif isinstance(value, str) and key in BARE:
            self.parse("{{ " + value + " }}")
        elif isinstance(value, str) and ("{{" in value or "{%" in value):
            self.parse(value)


def _reads(role: Path) -> Reads:
    reads = Reads()
    for path in sorted([*role.glob("tasks/*.yml"), *role.glob("handlers/*.yml"), *role.glob("defaults/*.yml")]):
        reads.walk(yaml.safe_load(path.read_text()))
    for path in sorted(p for p in (role / "templates").rglob("*") if p.is_file()):
        reads.parse(path.read_text())
    return reads


def _specs(role: Path) -> set[str]:
    entries = yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    return {name for entry in entries.values() for name in (entry.get("options") or {})}


def _defaults(role: Path) -> set[str]:
    return set(yaml.safe_load((role / "defaults" / "main.yml").read_text()) or {})


def _dependencies(role: Path) -> list[Path]:
    deps = yaml.safe_load((role / "meta" / "main.yml").read_text()).get("dependencies") or []
    return [ROLES / (d["role"] if isinstance(d, dict) else d) for d in deps]


def _renderer_vars() -> set[str]:
    out: set[str] = set()
    for name in BLUEPRINTS:
        bp = load_blueprint(REPO / "blueprints" / f"{name}.yaml").model
        files = render_blueprint_inventory(bp, plan(bp).hosts)
        out |= set(yaml.safe_load(files["group_vars/all.yml"]) or {})
        for host in yaml.safe_load(files["hosts.yml"])["all"]["hosts"].values():
            out |= set(host)
    return out


ROLE_DIRS = sorted(p for p in ROLES.iterdir() if (p / "tasks" / "main.yml").is_file())


@pytest.mark.parametrize("role", ROLE_DIRS, ids=lambda p: p.name)
def test_every_variable_a_role_reads_is_declared_and_has_a_source(role: Path) -> None:
    reads = _reads(role)
    shared = [role, *_dependencies(role)]  # a role reads its dependencies' variables (slurm_common_*)
    declared = set().union(*(_specs(r) for r in shared))
    sources = set().union(*(_defaults(r) for r in shared)) | _renderer_vars()
    wanted = reads.names - reads.local - MAGIC
    # Another role's variable (its name's prefix) has that role's default as its source (burnin_venv).
    sources |= {n for n in wanted for r in ROLE_DIRS if n.startswith(f"{r.name}_") and n in _defaults(r)}
    assert set() == wanted - declared, f"{role.name}: read but not in meta/argument_specs.yml"
    # Options of other entry points (tasks_from, given by include_role vars) need no default.
    main = yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"]
    assert set() == (wanted & set(main.get("options") or {})) - sources, f"{role.name}: read with no source"


def test_every_variable_the_renderer_writes_is_read() -> None:
    read: set[str] = set()
    for role in ROLE_DIRS:
        reads = _reads(role)
        read |= reads.names | reads.strings
    playbook = Reads()
    playbook.walk(SITE)
    read |= playbook.names
    read |= {"ansible_host"}  # the connection address, read by Ansible itself
    assert set() == _renderer_vars() - read
