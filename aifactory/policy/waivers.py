"""Waivers written next to the value they excuse:

    capacity: 45kW  # aifactory:waive CLG-001 reason="vendor-certified door" expires=2027-03-31

or on a comment line directly above it. A waiver needs a reason and an ISO expiry date; an expired waiver
no longer hides its finding (the finding comes back with a note). Residency rules cannot be waived. The loader
drops comments, so waivers are read from the file text by line.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from aifactory.errors import Location, UserError
from aifactory.policy.model import Finding, Waiver
from aifactory.policy.registry import get_rule

_MARK = re.compile(r"#\s*aifactory:waive\b(?P<body>.*)$")
_IDS = re.compile(r"\s*(?P<ids>[A-Za-z]+-[0-9]+(?:\s*,\s*[A-Za-z]+-[0-9]+)*)")
_PAIR = re.compile(r"\s*(?P<key>[a-z_]+)=(?:\"(?P<quoted>(?:[^\"\\]|\\.)*)\"|(?P<bare>[^\s\"]+))")
_HINT = 'write it like `# aifactory:waive SEC-004 reason="why this is acceptable" expires=2027-03-31`'


def parse_line(text: str, loc: Location) -> Waiver | None:
    """The waiver in one line of YAML, or None; a malformed waiver is a UserError."""
    m = _MARK.search(text)
    if m is None:
        return None
    body = m.group("body")
    ids_m = _IDS.match(body)
    if ids_m is None:
        raise UserError.at(loc, "waiver names no rule id", _HINT)
    ids = tuple(get_rule(i.strip(), loc).id for i in ids_m.group("ids").split(","))
    fields = _fields(body[ids_m.end() :], loc)
    reason, expires = fields.get("reason", "").strip(), fields.get("expires", "")
    if not reason:
        raise UserError.at(loc, f"waiver of {', '.join(ids)} has no reason", _HINT)
    try:
        dt.date.fromisoformat(expires)
    except ValueError:
        raise UserError.at(loc, f"waiver expiry {expires!r} is not a date (YYYY-MM-DD)", _HINT) from None
    for rule_id in ids:
        if not get_rule(rule_id).waivable:
            raise UserError.at(
                loc,
                f"{rule_id} is a residency rule and cannot be waived",
                "fix the value instead; residency is not negotiable per finding",
            )
    return Waiver(ids, reason, expires, loc)


def _fields(rest: str, loc: Location) -> dict[str, str]:
    out: dict[str, str] = {}
    pos = 0
    while rest[pos:].strip():
        m = _PAIR.match(rest, pos)
        if m is None:
            raise UserError.at(loc, f"cannot read the waiver near {rest[pos:].strip()!r}", _HINT)
        key = m.group("key")
        if key not in ("reason", "expires"):
            raise UserError.at(loc, f"unknown waiver field {key!r}", _HINT)
        out[key] = m.group("quoted") if m.group("quoted") is not None else m.group("bare")
        pos = m.end()
    return out


def scan(file: str, text: str) -> dict[int, list[Waiver]]:
    """Waivers by the line they apply to: their own line, and for a comment-only line the next line too."""
    lines = text.splitlines()
    out: dict[int, list[Waiver]] = {}
    for n, line in enumerate(lines, start=1):
        waiver = parse_line(line, Location(file, n, line.find("#") + 1))
        if waiver is None:
            continue
        out.setdefault(n, []).append(waiver)
        if line.lstrip().startswith("#"):
            # a comment block above a value: skip further comment lines to the value's line
            target = n + 1
            while target <= len(lines) and lines[target - 1].lstrip().startswith("#"):
                target += 1
            out.setdefault(target, []).append(waiver)
    return out


def _source_text(path: Path) -> str:
    """The text of a finding's file, for its waiver comments; a file that cannot be read has none (the
    blueprint loader has already refused it with the reason)."""
    from aifactory.blueprint.yamlsrc import MAX_BYTES
    from aifactory.files import is_file

    try:
        if not is_file(path) or path.stat().st_size > MAX_BYTES:
            return ""
        return path.read_bytes().decode("utf-8", errors="replace")
    except OSError:
        return ""


def apply(findings: Iterable[Finding], today: dt.date, read: dict[str, str] | None = None) -> list[Finding]:
    """Attach the waiver that covers each finding (marking expired ones and noting it)."""
    texts = read if read is not None else {}
    tables: dict[str, dict[int, list[Waiver]]] = {}
    out = []
    for f in findings:
        file = f.location.file
        if file not in tables:
            text = texts.get(file)
            if text is None:
                text = _source_text(Path(file))
            tables[file] = scan(file, text)
        waiver = next((w for w in tables[file].get(f.location.line, []) if f.rule in w.rules), None)
        if waiver is None:
            out.append(f)
        elif dt.date.fromisoformat(waiver.expires) < today:
            note = f"waiver at {waiver.location} expired on {waiver.expires} ({waiver.reason})"
            out.append(f.with_(waiver=replace(waiver, expired=True), note=note))
        else:
            out.append(f.with_(waiver=waiver, note=f"waived until {waiver.expires}: {waiver.reason}"))
    return out
