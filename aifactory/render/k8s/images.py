"""Operand images the operators' charts would pick by default, for the custom resources we render ourselves.

Blueprint pins (driver, DCGM, OFED) win where the blueprint has one; the rest follow the operator release the
blueprint pins under `software.charts`. Each entry names where it was read.
"""

from __future__ import annotations

# NVIDIA/gpu-operator, deployments/gpu-operator/values.yaml at tag v26.7.0.
# component: (repository, image, tag)
GPU_OPERATOR = {
    "driver": ("nvcr.io/nvidia", "driver", ""),  # tag: software.driver
    "toolkit": ("nvcr.io/nvidia/k8s", "container-toolkit", "v1.20.0"),
    "devicePlugin": ("nvcr.io/nvidia", "k8s-device-plugin", "v0.20.0"),
    "dcgm": ("nvcr.io/nvidia/cloud-native", "dcgm", ""),  # tag: software.dcgm + "-1-" + os
    "dcgmExporter": ("nvcr.io/nvidia/k8s", "dcgm-exporter", "4.6.0-4.8.3-distroless"),
    "gfd": ("nvcr.io/nvidia", "k8s-device-plugin", "v0.20.0"),
    "migManager": ("nvcr.io/nvidia/cloud-native", "k8s-mig-manager", "v0.15.0"),
    "nodeStatusExporter": ("nvcr.io/nvidia", "gpu-operator", "v26.7.0"),
    "validator": ("nvcr.io/nvidia", "gpu-operator", "v26.7.0"),
    "operator": ("nvcr.io/nvidia", "gpu-operator", "v26.7.0"),
}

# Mellanox/network-operator, hack/release.yaml at tag v26.4.1.
NETWORK_OPERATOR = {
    "ofedDriver": ("nvcr.io/nvidia/mellanox", "doca-driver", ""),  # tag: software.ofed
    "rdmaSharedDevicePlugin": (
        "nvcr.io/nvidia/mellanox",
        "k8s-rdma-shared-dev-plugin",
        "network-operator-v26.4.1",
    ),
    "ibKubernetes": ("nvcr.io/nvidia/mellanox", "ib-kubernetes", "network-operator-v26.4.1"),
    "operator": ("nvcr.io/nvidia/cloud-native", "network-operator", "v26.4.1"),
}

# vLLM's OpenAI-compatible server image (docker.io/vllm/vllm-openai), used by the KServe serving runtime.
VLLM = ("docker.io/vllm", "vllm-openai", "v0.11.0")

# MinIO server image (quay.io/minio/minio); MinIO tags are release timestamps, not semantic versions, so the
# blueprint's chart pins cannot express one. Override with `software.charts.minio.image_digest`.
MINIO = ("quay.io/minio", "minio", "RELEASE.2025-04-22T22-12-26Z")
