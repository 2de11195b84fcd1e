"""Fixtures of the burn-in tests (helpers live in tests/burnin/helpers.py)."""

from tests.burnin.helpers import baseline_run

__all__ = ["baseline_run"]
