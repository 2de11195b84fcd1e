"""A load generator for a KServe V1 text endpoint: concurrent clients, each sending one request at a time,
measuring end-to-end latency per request and generated tokens, over the network like any client.

    python -m aifactory.tinylm.loadgen --url http://lab002:8000 --model tinylm \\
        --prompt-tokens 32 --output-tokens 32 --concurrency 4 --requests 64 --result-file out.json

With `--until-file PATH` it keeps sending until that file exists (at least `--requests`), for traffic that spans
a promotion. The result (JSON) uses the names `vllm bench serve` gives the same figures: completed, failed,
duration, total_input_tokens, total_output_tokens, request_throughput, output_throughput, mean/p50/p99_e2el_ms;
plus `errors` (the first few, by kind) and `versions` (requests answered per model version, in order seen).
Standard library only (runs on any node's Python 3.10+).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

# Prompts are bytes of this text (tokens are bytes), cut at different offsets per request.
PROMPT_TEXT = (
    "The lab factory trains a small model, serves it, and measures what it makes. Tokens per second are what "
    "an AI factory produces, and latency is what its users feel. "
)


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def prompt(i: int, size: int) -> str:
    text = PROMPT_TEXT * (size // len(PROMPT_TEXT) + 2)
    start = (i * 7) % len(PROMPT_TEXT)
    return text[start : start + size]


class Run:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.url = f"{args.url.rstrip('/')}/v1/models/{args.model}:predict"
        self.lock = threading.Lock()
        self.issued = 0
        self.latencies: list[float] = []
        self.tokens_in = self.tokens_out = self.failed = 0
        self.errors: Counter[str] = Counter()
        self.versions: dict[str, int] = {}

    def _next(self) -> int | None:
        with self.lock:
            enough = self.issued >= self.args.requests
            if enough and not (self.args.until_file and not Path(self.args.until_file).exists()):
                return None
            self.issued += 1
            return self.issued - 1

    def _one(self, i: int) -> None:
        body = json.dumps({"instances": [{"prompt": prompt(i, self.args.prompt_tokens),
                                          "max_tokens": self.args.output_tokens}]}).encode()  # fmt: skip
        req = urllib.request.Request(self.url, data=body, method="POST", headers={"Content-Type": "application/json"})
        started = time.monotonic()
        try:
            with urllib.request.urlopen(req, timeout=self.args.timeout) as resp:
                pred = json.loads(resp.read())["predictions"][0]
        except (OSError, ValueError, KeyError, IndexError) as err:
            kind = f"HTTP {err.code}" if isinstance(err, urllib.error.HTTPError) else type(err).__name__
            with self.lock:
                self.failed += 1
                self.errors[kind] += 1
            return
        elapsed = time.monotonic() - started
        with self.lock:
            self.latencies.append(elapsed)
            self.tokens_in += int(pred["prompt_tokens"])
            self.tokens_out += int(pred["completion_tokens"])
            version = str(pred.get("model_version", ""))
            self.versions[version] = self.versions.get(version, 0) + 1

    def _client(self) -> None:
        while (i := self._next()) is not None:
            self._one(i)

    def go(self) -> dict[str, Any]:
        started = time.monotonic()
        threads = [threading.Thread(target=self._client) for _ in range(self.args.concurrency)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        duration = time.monotonic() - started
        ms = [x * 1000 for x in self.latencies]
        done = len(ms)
        return {
            "url": self.url,
            "concurrency": self.args.concurrency,
            "completed": done,
            "failed": self.failed,
            "errors": dict(sorted(self.errors.items())),
            "duration": round(duration, 3),
            "total_input_tokens": self.tokens_in,
            "total_output_tokens": self.tokens_out,
            "request_throughput": round(done / duration, 3) if duration else 0.0,
            "output_throughput": round(self.tokens_out / duration, 2) if duration else 0.0,
            "mean_e2el_ms": round(sum(ms) / done, 2) if done else float("nan"),
            "p50_e2el_ms": round(percentile(ms, 50), 2),
            "p99_e2el_ms": round(percentile(ms, 99), 2),
            "versions": self.versions,
        }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="aifactory.tinylm.loadgen")
    ap.add_argument("--url", required=True, help="the server, http://HOST:PORT")
    ap.add_argument("--model", required=True)
    ap.add_argument("--prompt-tokens", type=int, default=32)
    ap.add_argument("--output-tokens", type=int, default=32)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--requests", type=int, default=64)
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds one request may take")
    ap.add_argument("--until-file", default="", help="keep sending until this file exists")
    ap.add_argument("--result-file", default="", help="write the result JSON here")
    args = ap.parse_args(argv)
    if min(args.prompt_tokens, args.output_tokens, args.concurrency, args.requests) < 1:
        ap.error("--prompt-tokens, --output-tokens, --concurrency and --requests must be at least 1")
    result = Run(args).go()
    text = json.dumps(result, sort_keys=True)
    if args.result_file:
        tmp = Path(args.result_file + ".tmp")
        tmp.write_text(text + "\n")
        os.replace(tmp, args.result_file)
    print(text)
    return 0 if result["completed"] else 1


if __name__ == "__main__":
    sys.exit(main())
