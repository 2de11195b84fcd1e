"""Secrets in input data: what they look like, and how messages avoid repeating them.

A blueprint names its secrets (`key_ref:` holds a name in the site's key custody system); it never holds one.
`find` reports every string (value or key, at any depth) that holds one of

- a well-known token format: private key blocks, AWS access key ids, GitHub and GitLab tokens, Slack tokens
  and webhooks, Google API keys, NVIDIA API keys, JSON Web Tokens, credentials inside a URL
  (`scheme://user:password@host`);
- a high-entropy word: a run of at least `MIN_LENGTH` characters of `[A-Za-z0-9+/=_-]` with at least two upper
  case letters, two lower case letters and a digit, whose Shannon entropy is at least `MIN_ENTROPY` bits per
  character. Hex strings (image digests `sha256:...`, git commits, UUIDs) have at most 4 bits per character and
  no upper case, and names, paths and versions have neither the length nor the mix, so none of them is flagged;
  a random 40-character cloud secret key is (and 95 in 100 random 32-character base62 strings). Camel-case
  names with digits reach about 4.2 bits per character, hence the threshold; a 24-character random string is
  too close to them to tell apart.

Every command but `policy check` refuses a blueprint holding one (exit 2, at the value's line, naming the kind of
secret, never the value); `policy check` reports it as SEC-007 (critical, not waivable). `redact` replaces every
such match in a message with `<redacted>`, and `aifactory.errors.Problem` applies it to every error message.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

MIN_LENGTH = 32
MIN_ENTROPY = 4.3
REDACTED = "<redacted>"

FORMATS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("a private key", re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")),
    ("an AWS access key id", re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA)[A-Z0-9]{16}\b")),
    ("a GitHub token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})")),
    ("a GitLab token", re.compile(r"\bgl(?:pat|dt|rt|ptt|oas|cbt|imt|ft|soat)-[A-Za-z0-9_-]{20,}")),
    ("a Slack token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}|hooks\.slack\.com/services/[A-Za-z0-9/]{20,}")),
    ("a Google API key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}")),
    ("an NVIDIA API key", re.compile(r"\bnvapi-[A-Za-z0-9_-]{20,}")),
    ("a JSON Web Token", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")),
    ("a password inside a URL", re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@")),
)
_WORD = re.compile(r"[A-Za-z0-9+/=_-]+")


def entropy(text: str) -> float:
    """Shannon entropy of `text` in bits per character."""
    counts = Counter(text)
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in counts.values()) if n else 0.0


def _random_looking(word: str) -> bool:
    if len(word) < MIN_LENGTH:
        return False
    upper = sum(c.isupper() for c in word)
    lower = sum(c.islower() for c in word)
    digits = sum(c.isdigit() for c in word)
    return upper >= 2 and lower >= 2 and digits >= 1 and entropy(word) >= MIN_ENTROPY


def kind_of(text: str) -> str | None:
    """What kind of secret `text` holds (e.g. "a GitHub token"), or None."""
    for kind, pattern in FORMATS:
        if pattern.search(text):
            return kind
    if any(_random_looking(w) for w in _WORD.findall(text)):
        return "a high-entropy string (a key or token)"
    return None


def redact(text: str) -> str:
    """`text` with every secret-looking part replaced by `<redacted>`."""
    for _, pattern in FORMATS:
        text = pattern.sub(REDACTED, text)
    return _WORD.sub(lambda m: REDACTED if _random_looking(m.group()) else m.group(), text)


def find(data: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """(path, kind) of every string in `data` (mapping keys included) that holds a secret."""
    if isinstance(data, dict):
        for key, value in data.items():
            if isinstance(key, str) and (kind := kind_of(key)) is not None:
                yield (*path, key), kind
            yield from find(value, (*path, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from find(value, (*path, i))
    elif isinstance(data, str) and (kind := kind_of(data)) is not None:
        yield path, kind
