"""Baselines: accepted findings keyed by what they are (rule + file + JSON pointer + offending value),
each with an owner and a reason. A baselined finding is reported as such but neither fails the check nor goes
to SARIF."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from aifactory.errors import Location, UserError
from aifactory.files import load_json, present
from aifactory.io import atomic_write, dumps_json
from aifactory.policy.model import Finding

VERSION = 1
MAX_BASELINE_BYTES = 16 << 20  # 16 MiB: tens of thousands of accepted findings
_FIELDS = ("fingerprint", "rule", "file", "pointer", "value", "owner", "reason")


def load(path: Path) -> dict[str, dict[str, Any]]:
    """Entries by fingerprint; raises UserError for a missing or malformed file."""
    display = str(path)
    if not present(path, display):
        raise UserError.at(
            Location(display),
            "baseline file not found",
            "create it with `aifactory policy check FILE --baseline PATH --update-baseline`",
        )
    data: Any = load_json(path, display, MAX_BASELINE_BYTES, "baseline")
    if (
        not isinstance(data, dict)
        or data.get("version") != VERSION
        or not isinstance(data.get("entries"), list)
    ):
        raise UserError.at(
            Location(display),
            f'baseline must be {{"version": {VERSION}, "entries": [...]}}',
            "regenerate it with --update-baseline",
        )
    entries: dict[str, dict[str, Any]] = {}
    for i, entry in enumerate(data["entries"]):
        missing = [k for k in _FIELDS if not isinstance(entry, dict) or k not in entry]
        if missing or not str(entry.get("owner", "")).strip() or not str(entry.get("reason", "")).strip():
            raise UserError.at(
                Location(display),
                f"baseline entry {i} lacks {', '.join(missing) or 'owner/reason'}",
                "every entry needs fingerprint, rule, file, pointer, value, owner and reason",
            )
        entries[entry["fingerprint"]] = entry
    return entries


def mark(findings: Iterable[Finding], entries: dict[str, dict[str, Any]]) -> list[Finding]:
    return [
        f.with_(baselined=True, note=f.note or f"baselined: {entries[f.fingerprint]['reason']}")
        if f.fingerprint in entries
        else f
        for f in findings
    ]


def update(path: Path, findings: Iterable[Finding], owner: str, reason: str) -> int:
    """Merge the current unwaived findings into the baseline (existing entries keep their owner and reason).
    Returns how many entries were added."""
    entries = load(path) if present(path, str(path)) else {}
    added = 0
    for f in findings:
        if f.waived or f.fingerprint in entries:
            continue
        rule, file, pointer, value = f.identity
        entries[f.fingerprint] = {
            "fingerprint": f.fingerprint,
            "rule": rule,
            "file": file,
            "pointer": pointer,
            "value": json.loads(value),
            "owner": owner,
            "reason": reason,
        }
        added += 1
    ordered = sorted(entries.values(), key=lambda e: (e["file"], e["rule"], e["pointer"], e["fingerprint"]))
    atomic_write(path, dumps_json({"version": VERSION, "entries": ordered}))
    return added
