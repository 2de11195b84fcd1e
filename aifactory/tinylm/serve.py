"""Serve the lab's language model with KServe's Python model server (the V1 protocol a KServe custom predictor
speaks), following one alias of the MLflow registry.

    python -m aifactory.tinylm.serve --model tinylm --alias champion --port 8000

`POST /v1/models/NAME:predict` with `{"instances": [{"prompt": "...", "max_tokens": 32}]}` answers
`{"predictions": [{"text": ..., "prompt_tokens": n, "completion_tokens": m, "model_version": "3"}]}`; tokens are
bytes. `GET /v1/models/NAME` is its readiness, `/metrics` its Prometheus metrics.

Promotion without downtime: a thread polls the alias; when it names another version, the new weights are loaded
beside the old ones and swapped in with one reference assignment. A request holds the model it started with, so
none fails or mixes versions. The metrics carry no model or alias label (the scrape target's labels do):
`aifactory_serving_model_version`, `aifactory_serving_model_quality{metric}` (the served version's evaluation
value, from the gate's `aifactory.<metric>` version tag), `aifactory_serving_request_seconds`,
`aifactory_serving_generated_tokens_total` and `aifactory_serving_requests_total{outcome}`.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prometheus_client import Counter, Gauge, Histogram

from aifactory.tinylm import model as lm

log = logging.getLogger("aifactory.tinylm.serve")
MAX_TOKENS = 512  # longest completion one request may ask for
MAX_PROMPT = 8192  # bytes of prompt accepted (the model sees its context's worth of them)

VERSION = Gauge("aifactory_serving_model_version", "Registry version of the model this replica serves")
QUALITY = Gauge("aifactory_serving_model_quality", "Evaluation value of the served version", ["metric"])
LATENCY = Histogram(
    "aifactory_serving_request_seconds", "Predict request latency",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)  # fmt: skip
TOKENS = Counter("aifactory_serving_generated_tokens_total", "Tokens (bytes) generated")
REQUESTS = Counter("aifactory_serving_requests_total", "Predict requests by outcome", ["outcome"])


@dataclass(frozen=True)
class Loaded:
    version: str
    net: lm.TinyLM


class Registry:
    """The alias's version in the MLflow registry, and its files."""

    def __init__(self, model: str, alias: str) -> None:
        from mlflow import MlflowClient

        self.model, self.alias, self.client = model, alias, MlflowClient()

    def current(self) -> Any:
        return self.client.get_model_version_by_alias(self.model, self.alias)

    def fetch(self, version: Any) -> lm.TinyLM:
        import mlflow

        dst = tempfile.mkdtemp(prefix=f"{self.model}-v{version.version}-")
        uri = f"models:/{self.model}/{version.version}"
        return lm.load(Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=dst)))


def _instances(payload: Any) -> list[tuple[str, int]]:
    if not isinstance(payload, dict) or not isinstance(payload.get("instances"), list) or not payload["instances"]:
        raise ValueError('expected {"instances": [{"prompt": str, "max_tokens": int}, ...]}')
    out = []
    for item in payload["instances"]:
        prompt = item.get("prompt") if isinstance(item, dict) else None
        tokens = item.get("max_tokens", 32) if isinstance(item, dict) else None
        if not isinstance(prompt, str) or len(prompt) > MAX_PROMPT:
            raise ValueError(f"each instance needs a prompt string of at most {MAX_PROMPT} characters")
        if not isinstance(tokens, int) or isinstance(tokens, bool) or not 1 <= tokens <= MAX_TOKENS:
            raise ValueError(f"max_tokens must be an integer from 1 to {MAX_TOKENS}")
        out.append((prompt, tokens))
    return out


def _model_class() -> type:
    from kserve import Model
    from kserve.errors import InvalidInput

    class TinyLMModel(Model):  # type: ignore[misc]
        def __init__(self, registry: Registry, metric: str, poll_s: float) -> None:
            super().__init__(registry.model)
            self.registry, self.metric, self.poll_s = registry, metric, poll_s
            self.loaded: Loaded | None = None

        def load(self) -> bool:
            self._refresh()
            threading.Thread(target=self._follow, name="follow-alias", daemon=True).start()
            self.ready = True
            return True

        def _refresh(self) -> None:
            version = self.registry.current()
            if self.loaded is not None and self.loaded.version == str(version.version):
                return
            net = self.registry.fetch(version)
            self.loaded = Loaded(str(version.version), net)  # the swap: one reference, requests keep theirs
            VERSION.set(int(version.version))
            held = version.tags.get(f"aifactory.{self.metric}")
            if held is not None:
                QUALITY.labels(self.metric).set(float(held))
            log.info("serving %s version %s (%s@%s)", self.name, version.version, self.name, self.registry.alias)

        def _follow(self) -> None:
            while True:
                time.sleep(self.poll_s)
                try:
                    self._refresh()
                except Exception as err:  # the registry unreachable: keep serving what is loaded, try again
                    log.warning("alias %s not refreshed: %s", self.registry.alias, err)

        async def predict(self, payload: Any, headers: Any = None, response_headers: Any = None) -> dict[str, Any]:
            started = time.monotonic()
            current = self.loaded
            try:
                if current is None:
                    raise InvalidInput("no model loaded")
                try:
                    asks = _instances(payload)
                except ValueError as err:
                    raise InvalidInput(str(err)) from err
                preds = []
                for prompt, tokens in asks:
                    ids = lm.encode(prompt)
                    out = await asyncio.to_thread(current.net.generate, ids, tokens)
                    TOKENS.inc(len(out))
                    preds.append({"text": lm.decode(out), "prompt_tokens": len(ids), "completion_tokens": len(out),
                                  "model_version": current.version})  # fmt: skip
            except Exception:
                REQUESTS.labels("error").inc()
                raise
            REQUESTS.labels("ok").inc()
            LATENCY.observe(time.monotonic() - started)
            return {"predictions": preds}

    return TinyLMModel


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="aifactory.tinylm.serve")
    ap.add_argument("--model", required=True, help="registered model name")
    ap.add_argument("--alias", default="champion", help="registry alias to serve and follow")
    ap.add_argument("--port", type=int, default=8000)
    ap.add_argument("--metric", default="val_loss", help="evaluation metric whose version tag is exported")
    ap.add_argument("--poll-s", type=float, default=2.0, help="seconds between alias checks")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # KServe's module parses the process's arguments when imported: it gets none of ours.
    sys.argv = sys.argv[:1]
    from kserve import ModelServer

    model = _model_class()(Registry(args.model, args.alias), args.metric, args.poll_s)
    model.load()
    ModelServer(http_port=args.port, enable_grpc=False, workers=1).start([model])
    return 0


if __name__ == "__main__":
    sys.exit(main())
