"""The mirror manifest: every package and version a design needs from outside the site.

Two parts, one per kind of mirror that serves the hosts:
- `apt`: per host class (hosts that run the same roles), the Debian packages each role's apt tasks install
  (read from the roles by `rolepackages`), and, once resolved by apt against the blueprint's Debian release
  (`aptresolve`), every .deb with its version, size and SHA-256, dependencies included;
- `pypi`: the wheels of the hosts' Python environment, exactly the locked set `requirements/lab.txt`
  (name, version and every hash the lock allows).

The JSON form is the contract (documented in docs/mirrors.md); keys are sorted, lists are sorted, and nothing
in it depends on the time of day, so the same design and index give the same bytes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aifactory import resources
from aifactory.blueprint.model import Blueprint
from aifactory.errors import Location, UserError
from aifactory.render.aptresolve import RELEASE_ARCHIVES, AptRoot, Deb, resolve
from aifactory.render.group_vars import blueprint_group_vars, host_owned_vars, kubernetes_share, orchestrator_of
from aifactory.render.hostlist import compress
from aifactory.render.inventory import HostLike, host_vars, inventory_tree, orchestrator_groups
from aifactory.render.rolepackages import RolePackage, RoleReader, host_pattern, play_roles

SCHEMA = "aifactory/manifest/v1"
LAB_LOCK = resources.lab_lock()
# Debian releases the blueprint's `software.os` may name, and their code names (the apt suite).
DEBIAN_SUITES = {"debian-12": "bookworm"}


def require_ansible(command: str) -> None:
    """The roles' package lists use Ansible's filters: without Ansible (the core install), say which extra."""
    import importlib.util

    if importlib.util.find_spec("ansible") is None:
        what = f"`{command}` reads the roles with Ansible's filters, and Ansible is not installed"
        raise UserError.at(None, what, "pip install 'sovereign-aifactory[deploy]' (the deploy extra brings it)")


def debian_suite(bp: Blueprint, where: Location | None = None) -> str:
    """The apt suite of the blueprint's OS; other systems have no resolver here yet."""
    os_name = str(bp.software.os)
    if os_name not in DEBIAN_SUITES:
        raise UserError.at(
            where, f"software.os {os_name!r}: the manifest resolves Debian packages only",
            f"use one of {', '.join(sorted(DEBIAN_SUITES))}, or list the packages with --no-resolve",
        )
    return DEBIAN_SUITES[os_name]


@dataclass(frozen=True)
class HostClass:
    """Hosts that converge the same roles, and what those roles install there."""

    name: str
    hosts: tuple[str, ...]
    roles: tuple[str, ...]
    packages: tuple[RolePackage, ...]

    def requested(self) -> list[str]:
        """The apt specs of the class, once each, sorted."""
        return sorted({p.spec for p in self.packages})

    def as_dict(self) -> dict[str, Any]:
        by_role: dict[str, list[str]] = {}
        for pkg in self.packages:
            by_role.setdefault(pkg.role, [])
            if pkg.spec not in by_role[pkg.role]:
                by_role[pkg.role].append(pkg.spec)
        return {
            "name": self.name,
            "hosts": compress(self.hosts),
            "host_count": len(self.hosts),
            "roles": list(self.roles),
            "requested": {role: sorted(specs) for role, specs in sorted(by_role.items())},
        }


def host_classes(bp: Blueprint, hosts: Sequence[HostLike], roles_dir: Path, playbook: Path) -> list[HostClass]:
    """The design's hosts grouped by the roles the site playbook gives them, with their packages."""
    orchestrator, share = orchestrator_of(bp), kubernetes_share(bp)
    owned = {n: host_owned_vars(bp) for n in orchestrator_groups(hosts, orchestrator, share).get("slurm", [])}
    tree = inventory_tree(hosts, {}, orchestrator, owned, share)["all"]
    groups = {name: sorted(body["hosts"]) for name, body in tree["children"].items()}
    names = sorted(tree["hosts"])
    group_vars = blueprint_group_vars(bp, hosts)
    reader = RoleReader(roles_dir)
    plays = play_roles(playbook)
    by_roles: dict[tuple[str, ...], list[str]] = {}
    for name in names:
        roles = [r for pattern, rs in plays if name in host_pattern(pattern, groups, names) for r in rs]
        by_roles.setdefault(tuple(reader.expand(roles)), []).append(name)
    by_name = {h.hostname: h for h in hosts}
    out = []
    for role_order, members in by_roles.items():
        first = by_name[members[0]]
        variables = _host_scope(group_vars, host_vars(first), first.hostname, groups, tree["hosts"])
        packages = [p for role in role_order for p in reader.packages(role, variables)]
        out.append(HostClass(_class_name(first.hostname, groups), tuple(members), role_order, tuple(packages)))
    return sorted(out, key=lambda c: c.name)


def _host_scope(group_vars: Mapping[str, Any], hvars: Mapping[str, Any], hostname: str,
                groups: Mapping[str, Sequence[str]], hostvars: Mapping[str, Any]) -> dict[str, Any]:  # fmt: skip
    return {**group_vars, **hvars, "inventory_hostname": hostname, "groups": {"all": sorted(hostvars), **groups},
            "hostvars": {h: {**group_vars, **v} for h, v in hostvars.items()}}  # fmt: skip


def _class_name(hostname: str, groups: Mapping[str, Sequence[str]]) -> str:
    """The host's function groups joined with `+` (e.g. `compute+storage_client`): what the class is for."""
    own = sorted(g for g, members in groups.items() if hostname in members and not re.match(r"(su|rack|rail)_", g))
    return "+".join(own) or "all"


# A locked requirement: `name==version \` followed by `--hash=sha256:...` lines.
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([^\s;\\]+)")
_HASH = re.compile(r"--hash=sha256:([0-9a-f]{64})")


def locked_wheels(lock: Path = LAB_LOCK) -> list[dict[str, Any]]:
    """Every pin of a pip-tools lock with its hashes; a pin without a hash is an error at its line."""
    pins: list[dict[str, Any]] = []
    for number, line in enumerate(lock.read_text(encoding="utf-8").splitlines(), start=1):
        match = _PIN.match(line)
        if match:
            pins.append({"name": _normalize(match.group(1)), "version": match.group(3), "sha256": [],
                         "line": number})  # fmt: skip
        elif pins and _HASH.search(line):
            pins[-1]["sha256"].extend(_HASH.findall(line))
    for pin in pins:
        if not pin["sha256"]:
            raise UserError.at(Location(str(lock), pin["line"]), f"{pin['name']}=={pin['version']} has no hash",
                               "regenerate the lock with scripts/lock (--generate-hashes)")  # fmt: skip
    return [{"name": p["name"], "version": p["version"], "sha256": sorted(p["sha256"])}
            for p in sorted(pins, key=lambda p: p["name"])]  # fmt: skip


def _normalize(name: str) -> str:
    """PEP 503 project name: lowercase, runs of `-_.` as one `-`."""
    return re.sub(r"[-_.]+", "-", name).lower()


def manifest(bp: Blueprint, hosts: Sequence[HostLike], roles_dir: Path, playbook: Path,
             lock: Path = LAB_LOCK) -> dict[str, Any]:  # fmt: skip
    """The design part of the manifest: what each host class asks for, and the locked wheels."""
    classes = host_classes(bp, hosts, roles_dir, playbook)
    requested = sorted({spec for c in classes for spec in c.requested()})
    return {
        "schema": SCHEMA,
        "blueprint": bp.name,
        "site": bp.site.name,
        "mirrors": [{"name": m.name, "kind": m.kind, "url": m.url} for m in bp.site.sovereignty.mirrors],
        "apt": {
            "os": str(bp.software.os),
            "suite": DEBIAN_SUITES.get(str(bp.software.os), ""),
            "architecture": "amd64",
            "host_classes": [c.as_dict() for c in classes],
            "requested": requested,
        },
        "pypi": {"lock": _display(lock), "python": "cp311", "platform": "manylinux x86_64",
                 "wheels": locked_wheels(lock)},
    }


def _display(path: Path) -> str:
    return resources.display(path)


def resolve_apt(doc: dict[str, Any], classes: Sequence[HostClass], apt: AptRoot) -> dict[str, Any]:
    """The manifest with apt's answer added: each class's closure (`name=version`), every .deb once with
    its size and hash, the specs the index cannot satisfy (vendor repositories), and the index's dates."""
    apt.update()
    debs: dict[str, Deb] = {}
    unresolved: dict[str, dict[str, Any]] = {}
    by_class = {c.name: c for c in classes}
    for entry in doc["apt"]["host_classes"]:
        cls = by_class[entry["name"]]
        specs = sorted({(p.name, p.version) for p in cls.packages})
        recommends = all(p.install_recommends for p in cls.packages)
        answer = resolve(apt, specs, recommends)
        entry["resolved"] = sorted(f"{d.name}={d.version}" for d in answer.debs)
        entry["unresolved"] = [u["spec"] for u in answer.unresolved]
        debs.update({d.filename: d for d in answer.debs})
        for item in answer.unresolved:
            roles = sorted({p.role for p in cls.packages if p.spec == item["spec"]})
            known = unresolved.setdefault(item["spec"], {**item, "roles": []})
            known["roles"] = sorted({*known["roles"], *roles})
    doc["apt"]["index"] = apt.index()
    doc["apt"]["packages"] = [debs[f].as_dict() for f in sorted(debs)]
    doc["apt"]["unresolved"] = [unresolved[s] for s in sorted(unresolved)]
    return doc


def apt_root_for(suite: str, root: Path) -> AptRoot:
    """The private apt directory that resolves `suite` (kept under `root`, reused between runs)."""
    return AptRoot(root / suite, RELEASE_ARCHIVES[suite])
