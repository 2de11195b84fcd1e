"""The Debian packages the site playbook installs on each host, read from the roles themselves.

The roles are the one place their package lists live (`defaults/main.yml` and the `ansible.builtin.apt`
tasks that name them). This module walks `playbooks/site.yml` the way Ansible would for a first converge:
each play's host pattern against the inventory's groups, each role with its `meta` dependencies first, each
role's tasks through blocks and static includes, and evaluates every apt task's `name` and `when` with
Jinja against the role's defaults, the blueprint's group variables and the host's variables. A role that
changes its package list changes the manifest with it; there is no second list to forget.

Registered results a role branches on (a PCI device count) are not known before a host exists; the design
predicts them (`REGISTERED`). A condition naming anything else the design cannot know is a bug here, and
the contract test over every blueprint catches it.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from jinja2 import StrictUndefined, UndefinedError
from jinja2.nativetypes import NativeEnvironment

APT_MODULES = ("ansible.builtin.apt", "apt")
INCLUDE_TASKS = ("ansible.builtin.include_tasks", "ansible.builtin.import_tasks", "include_tasks", "import_tasks")
INCLUDE_ROLE = ("ansible.builtin.include_role", "ansible.builtin.import_role", "include_role", "import_role")
# Groups the converge check makes at run time; on a first converge every host is stale.
RUNTIME_GROUPS = {"aifactory_stale": True, "aifactory_current": False}


def _pci_count(host_vars: Mapping[str, Any]) -> dict[str, str]:
    """What `grep -c 0x10de` over the PCI vendors finds: the host's GPUs when the catalogue says NVIDIA."""
    from aifactory.catalog import get_catalog

    gpu = get_catalog().gpus.get(str(host_vars.get("aifactory_gpu_model", "")))
    count = int(host_vars.get("aifactory_gpus", 0)) if gpu is not None and gpu.vendor == "nvidia" else 0
    return {"stdout": str(count)}


# Registered task results that gate package installs, as the design predicts them for a host.
REGISTERED: dict[str, Callable[[Mapping[str, Any]], Any]] = {
    "nvidia_driver_pci": _pci_count,
    "dcgm_pci": _pci_count,
    "power_caps_pci": _pci_count,
    # The fabric role's RDMA devices: one per rail the design gives the host (no apt task depends on it).
    "fabric_ib_devices": lambda v: {"matched": len(v.get("aifactory_rail_ips") or [])},
}


@dataclass(frozen=True)
class RolePackage:
    """One package an apt task asks for: `version` is the task's pattern (`570.124.06*`) or empty."""

    role: str
    name: str
    version: str = ""
    install_recommends: bool = True

    @property
    def spec(self) -> str:
        return f"{self.name}={self.version}" if self.version else self.name


def _bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("yes", "true", "on", "1", "y")
    return bool(value)


def _flatten(value: Any) -> list[Any]:
    out: list[Any] = []
    for item in value:
        out.extend(_flatten(item) if isinstance(item, list | tuple) else [item])
    return out


def _extract(key: Any, container: Any) -> Any:
    return container[key]


def _environment() -> NativeEnvironment:
    env = NativeEnvironment(undefined=StrictUndefined)
    # The roles are written against Ansible's filters (intersect, union, ...): take Ansible's own where it is
    # installed (the deploy extra), so the manifest evaluates them as a converge would.
    try:
        from ansible.plugins.filter.core import FilterModule as CoreFilters
        from ansible.plugins.filter.mathstuff import FilterModule as MathFilters
    except ImportError:  # pragma: no cover - the deploy extra is not installed
        pass
    else:
        env.filters.update(CoreFilters().filters())
        env.filters.update(MathFilters().filters())
    env.filters.update({"bool": _bool, "flatten": _flatten, "extract": _extract})
    return env


ENV = _environment()


class LazyVars(Mapping[str, Any]):
    """Variables whose template strings render on first use, as Ansible's do (defaults refer to each other)."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self._raw = dict(raw)
        self._done: dict[str, Any] = {}
        self._busy: set[str] = set()

    def __getitem__(self, key: str) -> Any:
        if key in self._done:
            return self._done[key]
        if key in self._busy:
            raise UndefinedError(f"variable {key!r} refers to itself")
        self._busy.add(key)
        try:
            value = self.render(self._raw[key])
        finally:
            self._busy.discard(key)
        self._done[key] = value
        return value

    def child(self, extra: Mapping[str, Any]) -> LazyVars:
        """A scope with `extra` over these variables, nothing rendered yet."""
        return LazyVars({**self._raw, **extra})

    @property
    def raw(self) -> dict[str, Any]:
        return dict(self._raw)

    def __iter__(self) -> Iterator[str]:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)

    def render(self, value: Any) -> Any:
        if isinstance(value, str) and ("{{" in value or "{%" in value):
            template = ENV.from_string(value)
            # shared=True hands this mapping to the context as is, so a name renders only when it is used.
            context = template.new_context(self, shared=True)  # type: ignore[arg-type]  # any Mapping works
            return ENV.concat(template.root_render_func(context))
        if isinstance(value, list):
            return [self.render(v) for v in value]
        if isinstance(value, dict):
            return {k: self.render(v) for k, v in value.items()}
        return value

    def condition(self, expr: str) -> bool:
        compiled = ENV.compile_expression(expr, undefined_to_none=False)
        return _bool(compiled(**{name: self[name] for name in _names(expr) if name in self}))


def _names(expr: str) -> set[str]:
    from jinja2 import meta

    return set(meta.find_undeclared_variables(ENV.parse("{{ " + expr + " }}")))


def _yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def host_pattern(pattern: str, groups: Mapping[str, Sequence[str]], all_hosts: Sequence[str]) -> set[str]:
    """Hosts an Ansible pattern selects: `a:b` union, `:&c` intersection, `:!d` exclusion."""
    def members(name: str) -> set[str]:
        if name in ("all", "*"):
            return set(all_hosts)
        if name in RUNTIME_GROUPS:
            return set(all_hosts) if RUNTIME_GROUPS[name] else set()
        if name in all_hosts:
            return {name}
        return {h for h in all_hosts if any(fnmatch.fnmatch(g, name) for g in groups if h in groups[g])} \
            if "*" in name else set(groups.get(name, ()))

    chosen: set[str] = set()
    ands: list[set[str]] = []
    nots: list[set[str]] = []
    for part in pattern.replace(",", ":").split(":"):
        if part.startswith("&"):
            ands.append(members(part[1:]))
        elif part.startswith("!"):
            nots.append(members(part[1:]))
        elif part:
            chosen |= members(part)
    for keep in ands:
        chosen &= keep
    for drop in nots:
        chosen -= drop
    return chosen


class RoleReader:
    """The packages each role's apt tasks install on one host."""

    def __init__(self, roles_dir: Path) -> None:
        self.roles_dir = roles_dir

    def defaults(self, role: str) -> dict[str, Any]:
        path = self.roles_dir / role / "defaults" / "main.yml"
        return dict(_yaml(path) or {}) if path.is_file() else {}

    def dependencies(self, role: str) -> list[str]:
        path = self.roles_dir / role / "meta" / "main.yml"
        deps = (_yaml(path) or {}).get("dependencies", []) if path.is_file() else []
        return [role_dir_name(d["role"] if isinstance(d, dict) else str(d)) for d in deps]

    def expand(self, roles: Sequence[str]) -> list[str]:
        """Roles in the order Ansible runs them: each role's dependencies first, each role once."""
        out: list[str] = []

        def visit(role: str) -> None:
            for dep in self.dependencies(role):
                visit(dep)
            if role not in out:
                out.append(role)

        for role in roles:
            visit(role)
        return out

    def packages(self, role: str, inventory_vars: Mapping[str, Any], tasks_from: str = "main",
                 extra: Mapping[str, Any] | None = None) -> list[RolePackage]:  # fmt: skip
        """Every package the role's apt tasks install with these variables (inventory over defaults)."""
        scope = LazyVars({**self.defaults(role), **inventory_vars, **(extra or {})})
        return list(self._tasks(role, self.roles_dir / role / "tasks" / f"{tasks_from}.yml", scope, []))

    def _tasks(self, role: str, path: Path, scope: LazyVars, when: list[str]) -> Iterator[RolePackage]:
        for task in _yaml(path) or []:
            yield from self._task(role, path, task, scope, when)

    def _task(self, role: str, path: Path, task: dict[str, Any], scope: LazyVars,
              when: list[str]) -> Iterator[RolePackage]:  # fmt: skip
        conditions = [*when, *_as_list(task.get("when"))]
        if "vars" in task:
            scope = scope.child(task["vars"])
        if "block" in task:
            for inner in task["block"]:
                yield from self._task(role, path, inner, scope, conditions)
            return
        module = next((m for m in (*APT_MODULES, *INCLUDE_TASKS, *INCLUDE_ROLE) if m in task), None)
        if module is None:
            return
        args = task[module]
        if module in APT_MODULES and not (isinstance(args, dict) and "name" in args):
            return  # an index refresh or clean-up installs nothing
        if not self._runs(role, task, scope, conditions):
            return
        if module in INCLUDE_TASKS:
            yield from self._tasks(role, path.parent / str(scope.render(args)), scope, conditions)
        elif module in INCLUDE_ROLE:
            yield from self.packages(role_dir_name(args["name"]), scope.raw, args.get("tasks_from", "main"))
        elif args.get("state", "present") in ("present", "latest"):
            recommends = _bool(scope.render(args.get("install_recommends", True)))
            for spec in _as_list(scope.render(args["name"])):
                name, _, version = str(spec).partition("=")
                yield RolePackage(role, name, version, recommends)

    def _runs(self, role: str, task: Mapping[str, Any], scope: LazyVars, conditions: list[str]) -> bool:
        local = LazyVars({**{k: f(scope.raw) for k, f in REGISTERED.items()}, **scope.raw})
        for expr in conditions:
            try:
                if not local.condition(str(expr)):
                    return False
            except UndefinedError as err:
                raise RuntimeError(
                    f"role {role}, task {task.get('name', '?')!r}: condition `{expr}` needs a value the design "
                    f"cannot know ({err.message}); add the registered result to REGISTERED"
                ) from None
        return True


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


# The collection the roles ship as (galaxy.yml): the site playbook names them by fully qualified name.
COLLECTION_PREFIX = "aifactory.factory."


def role_dir_name(name: str) -> str:
    """The role's folder under roles/ for a bare name or the collection's fully qualified one."""
    return name.removeprefix(COLLECTION_PREFIX)


def play_roles(playbook: Path) -> list[tuple[str, list[str]]]:
    """(host pattern, roles) of every play of the playbook that runs roles, in order."""
    plays = _yaml(playbook) or []
    out = []
    for play in plays:
        roles = [role_dir_name(r["role"] if isinstance(r, dict) else str(r)) for r in play.get("roles", [])]
        if roles:
            out.append((str(play["hosts"]), roles))
    return out
