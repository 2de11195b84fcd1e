"""Where the lab keeps its cache (reused across runs) and its state (what `lab up` made)."""

from __future__ import annotations

import os
from pathlib import Path

# Root file systems and the lab venv are large and slow to build: kept across runs, keyed by content.
CACHE_ENV = "AIFACTORY_LAB_CACHE"
STATE_ENV = "AIFACTORY_LAB_STATE"


def cache_dir() -> Path:
    """The cache: `$AIFACTORY_LAB_CACHE`, default /var/cache/aifactory/lab."""
    return Path(os.environ.get(CACHE_ENV, "/var/cache/aifactory/lab"))


def state_dir() -> Path:
    """The state of the running lab: `$AIFACTORY_LAB_STATE`, default /var/lib/aifactory/lab."""
    return Path(os.environ.get(STATE_ENV, "/var/lib/aifactory/lab"))
