"""The vLLM ClusterServingRuntime serves each InferenceService's model under the service's own name."""

from __future__ import annotations

from aifactory.blueprint import load_blueprint
from aifactory.render.kubernetes import build


def test_vllm_serves_the_model_under_the_inference_service_name() -> None:
    objects = build(load_blueprint("dgx-h100-superpod"), "test").objects
    (runtime,) = [o for o in objects if o["kind"] == "ClusterServingRuntime"]
    args = runtime["spec"]["containers"][0]["args"]
    # KServe replaces {{.Name}} with the InferenceService's name (its own runtimes pass --model_name={{.Name}});
    # without --served-model-name, vLLM's OpenAI API knows the model only as the path it was loaded from.
    assert args[args.index("--served-model-name") + 1] == "{{.Name}}"
    assert args[args.index("--model") + 1] == "/mnt/models"
