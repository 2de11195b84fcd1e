"""What a rule sees: the validated blueprint, its data, the catalogue and (lazily) the derived design."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, cast

from aifactory.blueprint import Blueprint, LoadedBlueprint
from aifactory.policy.jurisdiction import inside
from aifactory.policy.model import BlueprintPath


@dataclass
class Context:
    loaded: LoadedBlueprint
    # The file under review (a blueprint, or a stack file whose overrides sit on a blueprint): design findings
    # are anchored on the values it sets. Default: the blueprint's own file.
    focus_file: str = ""
    _plan_error: str = field(default="", init=False)

    @property
    def bp(self) -> Blueprint:
        return self.loaded.model

    @property
    def focus(self) -> str:
        return self.focus_file or self.loaded.source

    @property
    def jurisdiction(self) -> str:
        return self.bp.site.jurisdiction

    @property
    def enforced(self) -> bool:
        return self.bp.site.sovereignty.enforced

    def inside(self, code: str) -> bool:
        return inside(code, self.jurisdiction)

    def value_at(self, path: BlueprintPath) -> Any:
        """The plain value at `path` in the merged blueprint, or None where the key is absent (a default)."""
        node: Any = self.loaded.data
        for key in path:
            found = key in node if isinstance(node, dict) else isinstance(key, int) and 0 <= key < len(node)
            if not isinstance(node, dict | list) or not found:
                return None
            node = cast(Any, node)[key]
        return node

    def has(self, path: BlueprintPath) -> bool:
        return path in self.loaded.locations

    @cached_property
    def plan(self) -> Any | None:
        """The design engine's plan, or None where the engine is not installed or cannot plan this design
        (then the design rules are skipped and the reason is kept in `plan_error`)."""
        try:
            from aifactory.design import plan  # type: ignore[attr-defined,unused-ignore]
        except ImportError:
            self._plan_error = "the design engine (aifactory.design.plan) is not available"
            return None
        return plan(self.bp)

    @property
    def plan_error(self) -> str:
        return self._plan_error

    def design_checks(self, *codes: str) -> list[Any]:
        """DesignChecks from the engine with one of `codes` (empty where there is no engine)."""
        p = self.plan
        if p is None:
            return []
        return [c for c in p.checks if c.code in codes]

    @cached_property
    def sku(self) -> Any:
        from aifactory.catalog import get_catalog

        return get_catalog().nodes[self.bp.compute.node_sku]

    @cached_property
    def trains(self) -> bool:
        """Does this factory run multi-node training (Slurm, Kubeflow Trainer or KubeRay)?"""
        orch = self.bp.mlops.orchestrator.type
        comps = self.bp.mlops.components
        return orch in ("slurm", "both") or comps.kubeflow_trainer or comps.kuberay
