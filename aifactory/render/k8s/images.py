"""Operand images the operators' charts would pick by default, for the custom resources we render ourselves.

Blueprint pins (driver, DCGM, OFED) win where the blueprint has one; the rest follow the operator release the
blueprint pins under `software.charts`. Each entry names where it was read.
"""

from __future__ import annotations

# NVIDIA/gpu-operator, deployments/gpu-operator/values.yaml at tag v26.7.0.
# component: (repository, image, tag)
GPU_OPERATOR = {
    "driver": ("nvcr.io/nvidia", "driver", ""),  # tag: software.driver
    "driverManager": ("nvcr.io/nvidia/cloud-native", "k8s-driver-manager", "v0.12.0"),
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
    "ofedInitContainer": ("nvcr.io/nvidia/mellanox", "network-operator-init-container", "network-operator-v26.4.1"),
    # Secondary pod networks (tenant partitions, render/k8s/partitions.py): `Multus`, `CniPlugins`, `nvIpam`.
    "multus": ("nvcr.io/nvidia/mellanox", "multus-cni", "network-operator-v26.4.1"),
    "cniPlugins": ("nvcr.io/nvidia/mellanox", "plugins", "network-operator-v26.4.1"),
    "nvIpam": ("nvcr.io/nvidia/mellanox", "nvidia-k8s-ipam", "network-operator-v26.4.1"),
}
# The network operator chart's `sriov-network-operator.images` (deployment/network-operator/values.yaml at
# v26.4.1): whole references, mirrored as they are.
SRIOV_NETWORK_OPERATOR = {
    "operator": "nvcr.io/nvidia/mellanox/sriov-network-operator:network-operator-v26.4.1",
    "sriovConfigDaemon": "nvcr.io/nvidia/mellanox/sriov-network-operator-config-daemon:network-operator-v26.4.1",
    "sriovCni": "nvcr.io/nvidia/mellanox/sriov-cni:network-operator-v26.4.1",
    "ibSriovCni": "nvcr.io/nvidia/mellanox/ib-sriov-cni:network-operator-v26.4.1",
    "ovsCni": "nvcr.io/nvidia/mellanox/ovs-cni-plugin:network-operator-v26.4.1",
    "rdmaCni": "nvcr.io/nvidia/mellanox/rdma-cni:network-operator-v26.4.1",
    "sriovDevicePlugin": "nvcr.io/nvidia/mellanox/sriov-network-device-plugin:network-operator-v26.4.1",
    "sriovDraDriver": "nvcr.io/nvidia/mellanox/dra-driver-sriov:network-operator-v26.4.1",
    "resourcesInjector": "ghcr.io/k8snetworkplumbingwg/network-resources-injector:v1.7.0",
    "webhook": "nvcr.io/nvidia/mellanox/sriov-network-operator-webhook:network-operator-v26.4.1",
}
# The network operator chart's own NFD (used where the GPU operator, which brings NFD, is off).
NETWORK_OPERATOR_NFD = ("nvcr.io/nvidia/mellanox/node-feature-discovery", "network-operator-v26.4.1")

# DOCA-OFED release (`software.ofed`) -> the doca-driver image tag the network operator runs (it appends the
# OS and architecture itself, e.g. `-ubuntu24.04-amd64`). Read from the `Mofed.version` of Mellanox/
# network-operator hack/release.yaml at the tag named per entry.
DOCA_DRIVER_TAGS = {
    "25.07": "doca3.1.0-25.07-0.9.7.0-0",  # network-operator v25.7.0
    "25.10": "doca3.2.0-25.10-1.2.8.0-2",  # network-operator v25.10.0
    "26.01": "doca3.3.0-26.01-1.0.0.0-0",  # network-operator v26.1.0
    "26.04": "doca3.4.1-26.04-1.1.0.0-1",  # network-operator v26.4.1
}

# Node Feature Discovery as the GPU operator v26.7.0 bundles it (charts/node-feature-discovery, appVersion).
NFD = ("registry.k8s.io/nfd/node-feature-discovery", "v0.19.0")

# JobSet, the Kubeflow Trainer 2.3.0 chart's dependency (jobset chart 0.12.0; the release image).
JOBSET = ("registry.k8s.io/jobset/jobset", "v0.12.0")

# kube-rbac-proxy in front of the KServe controller's metrics (kserve-resources v0.20.0 values.yaml). The chart
# writes this value as the container's whole image reference (files/kserve/deployment-patch.yaml), so the tag
# belongs in it: without one the node would pull `:latest`, which a mirror of the pinned set does not hold.
KSERVE_RBAC_PROXY = "quay.io/brancz/kube-rbac-proxy:v0.18.0"

# ROCm/gpu-operator v1.5.1, helm-charts-k8s/values.yaml: the operator, and the DeviceConfig operand defaults
# (deviceConfig.spec). The device plugin, labeller and utils defaults are upstream's floating tags (no pinned
# tag is published with the operator release); the exporter is the device-metrics-exporter v1.5.1 release.
AMD_GPU_OPERATOR: dict[str, tuple[str, str]] = {
    "operator": ("docker.io/rocm/amd-gpu-operator", "v1.5.1"),
    "metricsExporter": ("docker.io/rocm/device-metrics-exporter", "v1.5.1"),
}
AMD_GPU_OPERANDS = {
    "devicePlugin": "docker.io/rocm/k8s-device-plugin:latest",
    "nodeLabeller": "docker.io/rocm/k8s-device-plugin:labeller-latest",
    "utils": "docker.io/rocm/amd-gpu-operator-utils:latest",
    "initContainer": "docker.io/library/busybox:1.36",
}

# vLLM's OpenAI-compatible server image (docker.io/vllm/vllm-openai), used by the KServe serving runtime.
VLLM = ("docker.io/vllm", "vllm-openai", "v0.11.0")
# The MLflow client for the workload Jobs' gate and logger: the image the mlflow chart runs (community-charts
# mlflow 1.11.5: repository burakince/mlflow, tag the chart's appVersion 3.15.1; Chart.yaml, values.yaml).
MLFLOW = ("docker.io/burakince", "mlflow", "3.15.1")

# MinIO server image (quay.io/minio/minio); MinIO tags are release timestamps, not semantic versions, so the
# blueprint's chart pins cannot express one. Override with `software.charts.minio.image_digest`.
MINIO = ("quay.io/minio", "minio", "RELEASE.2025-04-22T22-12-26Z")

# weka/csi-wekafs, charts/csi-wekafsplugin/values.yaml at tag v2.8.8: the chart takes whole references
# (`images.<sidecar>`), so each is mirrored with its tag. The driver image is `images.csidriver` plus its tag.
WEKA_CSI_SIDECARS = {
    "livenessprobesidecar": ("registry.k8s.io/sig-storage/livenessprobe", "v2.18.0"),
    "attachersidecar": ("registry.k8s.io/sig-storage/csi-attacher", "v4.11.0"),
    "provisionersidecar": ("registry.k8s.io/sig-storage/csi-provisioner", "v6.2.0"),
    "registrarsidecar": ("registry.k8s.io/sig-storage/csi-node-driver-registrar", "v2.16.0"),
    "resizersidecar": ("registry.k8s.io/sig-storage/csi-resizer", "v2.1.0"),
    "snapshottersidecar": ("registry.k8s.io/sig-storage/csi-snapshotter", "v8.5.0"),
}
WEKA_CSI_DRIVER = "quay.io/weka.io/csi-wekafs"
# vast-data/vast-csi v2.5.0 charts/vastcsi/values.yaml `image.<key>` (the chart builds `{repository}:{tag}`).
VAST_CSI = {
    "csiVastPlugin": ("docker.io/vastdataorg/csi", "v2.5.0"),
    "csiAttacher": ("registry.k8s.io/sig-storage/csi-attacher", "v4.5.0"),
    "csiNodeDriverRegistrar": ("registry.k8s.io/sig-storage/csi-node-driver-registrar", "v2.10.0"),
    "csiProvisioner": ("registry.k8s.io/sig-storage/csi-provisioner", "v4.0.0"),
    "csiResizer": ("registry.k8s.io/sig-storage/csi-resizer", "v1.10.0"),
    "csiSnapshotter": ("registry.k8s.io/sig-storage/csi-snapshotter", "v7.0.1"),
}
# DDNStorage/exa-csi-driver v2.9.0 deploy/helm-chart/values.yaml: the driver and its sidecars
# (value key -> repository, tag); the chart builds each as `{repository}:{tag}`.
EXA_CSI = {
    "image": ("quay.io/ddn/exascaler-csi-file-driver", "v2.9.0"),
    "registrar": ("registry.k8s.io/sig-storage/csi-node-driver-registrar", "v2.16.0"),
    "provisioner": ("registry.k8s.io/sig-storage/csi-provisioner", "v6.3.0"),
    "attacher": ("registry.k8s.io/sig-storage/csi-attacher", "v4.12.0"),
    "resizer": ("registry.k8s.io/sig-storage/csi-resizer", "v2.2.0"),
    "csi_snapshotter": ("registry.k8s.io/sig-storage/csi-snapshotter", "v8.6.0"),
}
