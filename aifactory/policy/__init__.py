"""Policy engine: a registry of rules over the validated blueprint and its derived design, with findings that
point at file:line, and adapters for text, JSON, SARIF, JUnit, GitHub annotations and Pulumi CrossGuard."""

from aifactory.policy.check import CheckOptions, gate, run_check
from aifactory.policy.engine import evaluate
from aifactory.policy.model import Finding, Rule
from aifactory.policy.registry import all_rules, get_rule

__all__ = ["CheckOptions", "Finding", "Rule", "all_rules", "evaluate", "gate", "get_rule", "run_check"]
