"""What the evidence report stands on, gathered once: the validated design, the policy check run in-process on
it, the plan, the catalogue entry, and (when given) the bundle and the burn-in results.

Every fact names where it comes from (`at`): a blueprint or stack value as `file:line` the way policy findings
name it (aifactory/policy/locations.py: repository-relative, or `catalogue:FILE:LINE` for inherited values), a
plan figure at the blueprint value it is derived from, a catalogue figure at its catalogue file and entry, a
bundle fact at `manifest.json#/pointer`, a burn-in verdict at its report file.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from aifactory.blueprint import LoadedBlueprint
from aifactory.errors import Location
from aifactory.evidence.bundle import Bundle
from aifactory.policy.check import Target
from aifactory.policy.locations import Locator
from aifactory.policy.model import Finding
from aifactory.policy.report import Report


@dataclass(frozen=True, slots=True)
class Burnin:
    hostname: str
    verdict: str
    started_at: str
    profile: str
    shown: str  # the report file as reported


@dataclass
class Facts:
    target: Target
    policy: Report
    plan: Any
    as_of: dt.date
    bundle: Bundle | None = None
    burnin: list[Burnin] | None = None  # None: no burn-in results were given
    _dump: dict[str, Any] = field(default_factory=dict, init=False)

    @property
    def loaded(self) -> LoadedBlueprint:
        return self.target.loaded

    @cached_property
    def locator(self) -> Locator:
        return Locator.for_file(self.target.checked)

    def at(self, *path: str | int) -> str:
        """Where the value at `path` is set (its nearest set ancestor where it is a default)."""
        return str(self.locator.relative(self.loaded.locate(*path)))

    def shown(self, path: Path) -> str:
        """A file given on the command line, relative to the checked file's repository."""
        return str(self.locator.relative(Location(str(path))))

    def value(self, *path: str | int) -> Any:
        """The validated value at `path` (defaults included), as JSON."""
        if not self._dump:
            self._dump = self.loaded.model.model_dump(mode="json", by_alias=True)
        node: Any = self._dump
        for key in path:
            node = node[key] if isinstance(node, dict) and key in node else None
            if node is None:
                return None
        return node

    def blueprint(self, *path: str | int) -> dict[str, Any]:
        return {
            "source": "blueprint",
            "name": ".".join(map(str, path)),
            "value": self.value(*path),
            "at": self.at(*path),
        }

    def findings(self, rule: str) -> list[Finding]:
        return [f for f in self.policy.findings if f.rule == rule]

    def rule(self, rule_id: str) -> dict[str, Any]:
        """One rule's result on this design: pass, fail (a mandatory finding), advisory, or waived."""
        from aifactory.policy.registry import get_rule

        found = self.findings(rule_id)
        active = [f for f in found if not f.waived]
        if not found:
            result = "pass"
        elif any(self.policy.fails(f) for f in active):
            result = "fail"
        else:
            result = "advisory" if active else "waived"
        return {
            "rule": rule_id,
            "title": get_rule(rule_id).title,
            "result": result,
            "findings": [{"message": f.message, "level": f.level, "at": str(f.location)} for f in found],
        }

    def passes(self, *rules: str) -> bool:
        return all(not self.findings(r) for r in rules)

    @cached_property
    def compute_hosts(self) -> list[str]:
        hosts = getattr(self.plan, "hosts", ())
        return sorted(h.hostname for h in hosts if "compute" in h.functions)

    @cached_property
    def catalogue_at(self) -> dict[str, str]:
        """Where the node SKU's and the GPU's catalogue entries are: `aifactory:catalog/data/FILE.yaml:LINE`
        (in the installed package)."""
        from aifactory import resources
        from aifactory.catalog import get_catalog

        sku = self.loaded.model.compute.node_sku
        gpu = get_catalog().nodes[sku].gpu
        out = {}
        for key, file, name in (("node", "nodes.yaml", sku), ("gpu", "gpus.yaml", gpu)):
            text = resources.package_file("catalog", "data", file).read_text(encoding="utf-8")
            lines = text.splitlines()
            line = next((i + 1 for i, t in enumerate(lines) if t.strip() == f"{name}:"), 0)
            out[key] = str(Location(f"catalog/data/{file}", line, base="aifactory"))
        return out
