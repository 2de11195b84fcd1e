"""The policy vocabulary: severities, levels, rules and findings.

A rule is a pure function over a `Context` (validated blueprint + derived design) that yields `Hit`s; the
engine turns each hit into a `Finding` with the rule's metadata, the file:line of the offending value (from
the loader's parse-tree locations) and a fingerprint that identifies the finding without its line number.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

from aifactory.errors import Location

if TYPE_CHECKING:
    from aifactory.policy.context import Context

Severity = Literal["critical", "high", "medium", "low", "info"]
Level = Literal["mandatory", "advisory", "disabled"]
SEVERITIES: tuple[Severity, ...] = ("critical", "high", "medium", "low", "info")
LEVELS: tuple[Level, ...] = ("mandatory", "advisory", "disabled")
TAGS = ("sovereignty", "security", "power", "cooling", "fabric", "storage", "operations")
BlueprintPath = tuple[str | int, ...]
DOCS_BASE = "https://github.com/aifactory/aifactory/blob/main/docs/policy"

# GitHub code scanning ranks alerts by this score (0.1-10); only security and sovereignty rules carry one.
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "1.0"}


def severity_rank(severity: str) -> int:
    """0 for critical up to 4 for info: lower is worse."""
    return SEVERITIES.index(severity)  # type: ignore[arg-type,unused-ignore]


@dataclass(frozen=True, slots=True)
class Hit:
    """What a rule reports: the offending blueprint path, a message with the numbers, and optionally where the
    limit it broke is defined (`related`)."""

    path: BlueprintPath
    message: str
    related: BlueprintPath | None = None
    value: Any = None  # default: the value found at `path`


Check = Callable[["Context"], Iterable[Hit]]


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    title: str
    severity: Severity
    level: Level
    tags: tuple[str, ...]
    rationale: str
    remediation: str
    check: Check
    # Sovereignty rules: mandatory where `site.sovereignty.enforced` is true, advisory elsewhere.
    sovereign: bool = False
    waivable: bool = True
    needs_design: bool = False

    @property
    def doc_path(self) -> str:
        return f"docs/policy/{self.id}.md"

    @property
    def doc_url(self) -> str:
        return f"{DOCS_BASE}/{self.id}.md"

    def level_for(self, enforced: bool) -> Level:
        if self.sovereign and self.level == "mandatory" and not enforced:
            return "advisory"
        return self.level

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "severity": self.severity,
            "level": self.level,
            "tags": list(self.tags),
            "rationale": self.rationale,
            "remediation": self.remediation,
            "waivable": self.waivable,
            "sovereign_scheme": self.sovereign,
            "needs_design": self.needs_design,
            "doc": self.doc_path,
        }


@dataclass(frozen=True, slots=True)
class Waiver:
    rules: tuple[str, ...]
    reason: str
    expires: str  # ISO date
    location: Location
    expired: bool = False


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str
    severity: Severity
    level: Level
    title: str
    message: str
    path: BlueprintPath
    location: Location
    value: Any
    remediation: str
    related: Location | None = None
    related_path: BlueprintPath | None = None
    # Where the offending value really is when it is in no file of the user's (a catalogue blueprint the user's
    # file extends, or a --set argument); `location` is then the line of the user's file that inherited it.
    inherited: Location | None = None
    waiver: Waiver | None = None
    note: str = ""
    baselined: bool = False
    tags: tuple[str, ...] = field(default_factory=tuple)

    @property
    def pointer(self) -> str:
        return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in self.path)

    @property
    def waived(self) -> bool:
        return self.waiver is not None and not self.waiver.expired

    @property
    def identity(self) -> tuple[str, str, str, str]:
        """What the finding is, independent of line numbers: rule, file, JSON pointer and offending value."""
        value = json.dumps(self.value, sort_keys=True, default=str, allow_nan=False)
        return (self.rule, self.location.file, self.pointer, value)

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256("\x1f".join(self.identity).encode()).hexdigest()[:32]

    def with_(self, **changes: Any) -> Finding:
        return replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        loc, rel = self.location, self.related
        out: dict[str, Any] = {
            "rule": self.rule,
            "severity": self.severity,
            "level": self.level,
            "title": self.title,
            "message": self.message,
            "pointer": self.pointer,
            "file": loc.file,
            "line": loc.line,
            "column": loc.column,
            "value": _jsonable(self.value),
            "remediation": self.remediation,
            "fingerprint": self.fingerprint,
            "note": self.note,
            "baselined": self.baselined,
            "tags": list(self.tags),
            "related": _location(rel),
            "inherited": _location(self.inherited),
            "waiver": None,
        }
        if self.waiver is not None:
            w = self.waiver
            out["waiver"] = {
                "reason": w.reason,
                "expires": w.expires,
                "expired": w.expired,
                "file": w.location.file,
                "line": w.location.line,
            }
        return out


def _location(loc: Location | None) -> dict[str, Any] | None:
    if loc is None:
        return None
    return {"file": loc.file, "line": loc.line, "column": loc.column, "base": loc.base or None}


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str, allow_nan=False))
