"""Design checks: what the design engine finds physically impossible, pointing back into the blueprint.

The engine is pure: a check names the blueprint path that caused it (mapped to file:line by the caller through
`LoadedBlueprint.locate`) and, for budgets, the path where the budget is defined. Policy rules build on these.
"""

from __future__ import annotations

from dataclasses import dataclass

BlueprintPath = tuple[str | int, ...]

# Stable codes; the policy engine maps each to a rule id.
CODES = ("ports-exhausted", "rack-heat", "rack-power", "facility-power", "cidr-overlap", "cidr-exhausted",
         "storage-tier", "checkpoint-capacity", "rails-unbalanced", "oversubscribed", "spine-ports",
         "nvlink-domain", "rack-height", "node-cooling", "link-speed",
         "orchestrator-share")


@dataclass(frozen=True, slots=True)
class DesignCheck:
    code: str
    message: str  # what is wrong, with the numbers
    path: BlueprintPath  # the value that caused it (the line a reviewer changed)
    hint: str  # how to fix it
    related: BlueprintPath | None = None  # where the budget or limit is defined
