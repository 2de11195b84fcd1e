"""What the node check does to the node in Slurm: drain it with the reason on failure, resume it on a pass.

Only drains this check made are undone: their reason starts with REASON_PREFIX. A node an operator drained
for anything else keeps its state and its reason, whatever the check says. As Slurm's HealthCheckProgram the
check drains and resumes (Slurm acts on neither exit code nor output); as Prolog or Epilog it drains and exits
non-zero (Slurm drains a node whose prolog or epilog fails and requeues the job, but keeps a reason already
set) and never resumes: on a pass it asks the controller nothing, so job starts cost no extra RPC.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Sequence
from typing import Any

REASON_PREFIX = "aifactory-health:"
MODES = ("healthcheck", "prolog", "epilog")
REASON_MAX = 200  # keep the reason readable in `sinfo -R`
SCONTROL_TIMEOUT_S = 10
# `scontrol show node` appends who set the reason and when: "Reason=... [root@2026-12-02T04:01:02]".
_REASON_LINE = re.compile(r"^\s*Reason=(.*?)(?: \[[^\]\s]+@[^\]\s]+\])?\s*$", re.MULTILINE)
_STATE = re.compile(r"\bState=(\S+)")

Runner = Callable[[Sequence[str]], "subprocess.CompletedProcess[str]"]


def scontrol(argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["scontrol", *argv], capture_output=True, text=True, timeout=SCONTROL_TIMEOUT_S,
                          check=False)  # fmt: skip


def node_state(node: str, run: Runner) -> tuple[set[str], str] | None:
    """(state flags, reason) from `scontrol show node`; None when the controller does not answer."""
    try:
        done = run(["show", "node", node])
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    state = _STATE.search(done.stdout)
    reason = _REASON_LINE.search(done.stdout)
    flags = set(state.group(1).rstrip("*").split("+")) if state else set()
    return flags, (reason.group(1).strip() if reason else "")


def drain_reason(summary: str) -> str:
    text = f"{REASON_PREFIX} {' '.join(summary.split())}"
    return text if len(text) <= REASON_MAX else text[: REASON_MAX - 3] + "..."


def _update(node: str, run: Runner, *settings: str) -> str:
    try:
        done = run(["update", f"nodename={node}", *settings])
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"scontrol failed: {err}"
    return "" if done.returncode == 0 else f"scontrol failed: {(done.stderr or done.stdout).strip()}"


def drain(node: str, summary: str, run: Runner) -> str:
    """Drain with our reason, unless the node is drained already for another reason (kept as it is)."""
    seen = node_state(node, run)
    want = drain_reason(summary)
    if seen and "DRAIN" in seen[0]:
        if not seen[1].startswith(REASON_PREFIX):
            return f"left as it is: drained already ({seen[1] or 'no reason'})"
        if seen[1] == want:
            return "drained already with this reason"
    error = _update(node, run, "state=drain", f"reason={want}")
    return error or f"drained: {want}"


def resume_if_ours(node: str, run: Runner) -> str:
    """Resume the node when this check drained it; anything else is left alone."""
    seen = node_state(node, run)
    if seen is None:
        return "node state unknown (controller did not answer): nothing changed"
    flags, why = seen
    if "DRAIN" not in flags:
        return ""
    if not why.startswith(REASON_PREFIX):
        return f"left drained: not drained by this check ({why or 'no reason'})"
    error = _update(node, run, "state=resume")
    return error or f"resumed (was: {why})"


def act(mode: str, node: str, result: dict[str, Any], run: Runner = scontrol) -> str:
    """What the check does in Slurm for its verdict in `mode`; returns what was done ("" for nothing)."""
    if result["verdict"] == "FAIL":
        return drain(node, result["summary"], run)
    return resume_if_ours(node, run) if mode == "healthcheck" else ""
