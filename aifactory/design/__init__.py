"""The design engine: pure functions from a validated blueprint to the physical factory (`plan`)."""

from aifactory.design.plan import Plan, plan

__all__ = ["Plan", "plan"]
