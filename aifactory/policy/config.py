"""`.aifactory-policy.yaml`: per-rule levels and a default fail threshold, strictly checked.

version: 1
fail_on: high          # optional: also fail on advisory findings of this severity or worse
baseline: .aifactory-baseline.json   # optional, relative to this file: accepted findings (`--baseline` wins)
rules:
  PWR-004: mandatory
  SEC-010: disabled

The rules that waivers may not touch (residency, plaintext secrets) cannot be disabled or made advisory here
either: the config is as much pull-request data as a blueprint.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from aifactory.blueprint.sources import display_path
from aifactory.blueprint.yamlsrc import parse_text, read_text
from aifactory.errors import UserError
from aifactory.files import present
from aifactory.policy.model import LEVELS, SEVERITIES, Level, Severity
from aifactory.policy.registry import get_rule

DEFAULT_FILE = ".aifactory-policy.yaml"
_KEYS = ("version", "fail_on", "baseline", "rules")


@dataclass(frozen=True)
class PolicyConfig:
    levels: dict[str, Level] = field(default_factory=dict)
    fail_on: Severity | None = None
    baseline: Path | None = None


def load_config(path: Path | None) -> PolicyConfig:
    """Read the config (`path`, else ./.aifactory-policy.yaml when present, else defaults)."""
    if path is None:
        path = Path(DEFAULT_FILE)
        if not present(path, DEFAULT_FILE):
            return PolicyConfig()
    display = display_path(path)
    doc = parse_text(read_text(path, display, "policy config"), display)
    if not isinstance(doc.value, dict):
        raise UserError.at(doc.loc, "policy config must be a mapping", "see docs/policy/README.md")
    for key, node in doc.value.items():
        if key not in _KEYS:
            raise UserError.at(
                node.loc, f"unknown key {key!r} in policy config", f"valid keys: {', '.join(_KEYS)}"
            )
    version = doc.value.get("version")
    if version is not None and version.value != 1:
        raise UserError.at(version.loc, f"unsupported config version {version.value!r}", "use `version: 1`")
    fail_on = None
    if "fail_on" in doc.value:
        node = doc.value["fail_on"]
        if node.value not in SEVERITIES:
            raise UserError.at(
                node.loc, f"fail_on {node.value!r} is not a severity", f"one of {', '.join(SEVERITIES)}"
            )
        fail_on = cast(Severity, node.value)
    baseline = None
    if "baseline" in doc.value:
        node = doc.value["baseline"]
        if not isinstance(node.value, str) or not node.value:
            raise UserError.at(node.loc, "`baseline:` must be a file path", "e.g. `baseline: .aifactory-baseline.json`")
        baseline = path.parent / node.value
    levels: dict[str, Level] = {}
    rules = doc.value.get("rules")
    if rules is not None:
        if not isinstance(rules.value, dict):
            raise UserError.at(rules.loc, "`rules:` must map rule ids to levels", "e.g. `PWR-004: mandatory`")
        for rule_id, node in rules.value.items():
            rule = get_rule(rule_id, node.loc)
            if node.value not in LEVELS:
                raise UserError.at(
                    node.loc,
                    f"level {node.value!r} for {rule_id} is not valid",
                    f"one of {', '.join(LEVELS)}",
                )
            if not rule.waivable and node.value != "mandatory":
                raise UserError.at(
                    node.loc,
                    f"{rule.id} cannot be set to {node.value}: it is a rule that waivers may not touch either",
                    f"remove the `{rule.id}:` line; fix the blueprint value the rule reports instead",
                )
            levels[rule.id] = cast(Level, node.value)
    return PolicyConfig(levels, fail_on, baseline)
