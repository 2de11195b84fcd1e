"""Adapter from the design engine's DesignChecks to rule hits: physics lives in one place (aifactory.design);
these rules only give its stable check codes an id, a severity and a level."""

from __future__ import annotations

from collections.abc import Iterator

from aifactory.policy.context import Context
from aifactory.policy.model import Hit


def design_hits(ctx: Context, *codes: str) -> Iterator[Hit]:
    for check in ctx.design_checks(*codes):
        text = f"{check.message}; {check.hint}" if check.hint else check.message
        yield Hit(tuple(check.path), text, related=tuple(check.related) if check.related else None)
