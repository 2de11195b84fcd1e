"""Waivers written next to the value they excuse:

    capacity: 45kW  # aifactory:waive CLG-001 reason="vendor-certified door" expires=2027-03-31

or on a comment line directly above it. A waiver needs a reason and an ISO expiry date; an expired waiver
no longer hides its finding (the finding comes back with a note). Residency rules and SEC-007 cannot be waived.

Only a real YAML comment can waive: the file is run through the YAML scanner, and a `#` counts only where no
token (a quoted or plain scalar, a block scalar's text) covers it, so `name: "x # aifactory:waive ..."` or a
`#` inside a `|` block is string data, never a waiver. A file the scanner cannot read has no waivers (its
loader has already refused it).
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import re
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

import yaml

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
        rule = get_rule(rule_id)
        if not rule.waivable:
            what = "a residency rule" if rule.sovereign else "a rule that waivers may not touch"
            raise UserError.at(
                loc,
                f"{rule_id} is {what} and cannot be waived",
                "fix the value instead; this rule is not negotiable per finding",
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


_HASH = re.compile(r"(?:^|(?<=[ \t]))#", re.M)


def comments(text: str) -> dict[int, tuple[int, str]]:
    """The YAML comments of `text` by line: (1-based column of the `#`, the comment text)."""
    try:
        tokens = list(yaml.scan(text, Loader=yaml.SafeLoader))
    except yaml.YAMLError:
        return {}
    spans = sorted((t.start_mark.index, t.end_mark.index) for t in tokens if t.end_mark.index > t.start_mark.index)
    starts = [a for a, _ in spans]
    reach = list(itertools.accumulate((b for _, b in spans), max))  # the furthest end of any span so far
    newlines = [m.start() for m in re.finditer("\n", text)]
    out: dict[int, tuple[int, str]] = {}
    for m in _HASH.finditer(text):
        i = m.start()
        k = bisect.bisect_right(starts, i) - 1
        if k >= 0 and reach[k] > i:
            continue  # inside a scalar (or other token): string data
        n = bisect.bisect_left(newlines, i)  # newlines before i
        line = n + 1
        if line in out:
            continue
        bol = newlines[n - 1] + 1 if n else 0
        eol = newlines[n] if n < len(newlines) else len(text)
        out[line] = (i - bol + 1, text[i:eol])
    return out


def scan(file: str, text: str) -> dict[int, list[Waiver]]:
    """Waivers by the line they apply to: their own line, and for a comment-only line the next line that is
    not a comment-only line too (the value below a comment block)."""
    lines = text.splitlines()
    found = comments(text)
    alone = {n for n, (col, _) in found.items() if not lines[n - 1][: col - 1].strip()}
    out: dict[int, list[Waiver]] = {}
    for n, (column, comment) in sorted(found.items()):
        waiver = parse_line(comment, Location(file, n, column))
        if waiver is None:
            continue
        out.setdefault(n, []).append(waiver)
        if n in alone:
            target = n + 1
            while target in alone:
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
