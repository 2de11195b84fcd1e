"""The lab's language model, end to end on CPU: a byte-level causal transformer small enough to train across two
lab nodes in seconds (`train`, under torchrun with gloo), scored on held-out text (`evaluate`), served by KServe's
Python model server following the MLflow registry's alias (`serve`), and measured over the network (`loadgen`).

Runs on the nodes' Python (3.10 or later); `model` and `loadgen` need only torch and the standard library.
"""
