"""Evaluate a registered version of the lab's language model on held-out text: mean nats per byte (`val_loss`)
and its perplexity, written as JSON to `$EVAL_RESULT` for the evaluation gate.

    python evaluate.py --data /shared/datasets/tinytext/heldout.txt   # the model: $AIFACTORY_MODEL_URI
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

from aifactory.tinylm import model as lm


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="aifactory.tinylm.evaluate")
    ap.add_argument("--data", required=True, help="held-out text file")
    ap.add_argument("--model-uri", default=os.environ.get("AIFACTORY_MODEL_URI", ""), help="models:/NAME@ALIAS")
    ap.add_argument("--model-dir", default="", help="a saved model folder instead of the registry (tests)")
    ap.add_argument("--result", default=os.environ.get("EVAL_RESULT", ""), help="where the JSON result goes")
    args = ap.parse_args(argv)
    if args.model_dir:
        where = Path(args.model_dir)
    else:
        import mlflow

        tmp = tempfile.mkdtemp(prefix="tinylm-eval-")
        where = Path(mlflow.artifacts.download_artifacts(artifact_uri=args.model_uri, dst_path=tmp))
    loss = lm.held_out_loss(lm.load(where), lm.corpus(Path(args.data)))
    result = {"val_loss": round(loss, 4), "perplexity": round(lm.perplexity(loss), 3)}
    if args.result:
        Path(args.result).write_text(json.dumps(result, sort_keys=True) + "\n")
    print(json.dumps(result, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
