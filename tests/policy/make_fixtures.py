"""Writes the rule fixture folders (run once; the YAML files are committed and reviewed like code)."""

# ruff: noqa: E501
from pathlib import Path

H = "extends: dgx-h200-sovereign-eu\n"
F: dict[str, dict[str, str]] = {
    "SOV-001": {
        "pass": H + "storage:\n  filesystem:\n    location: DE\n",
        "fail": H
        + "site:\n  sovereignty:\n    residency:\n      data: US  # expect: SOV-001\nstorage:\n  filesystem:\n    location: FR  # expect: SOV-001\n  object_store:\n    location: CH  # expect: SOV-001\n",
    },
    "SOV-002": {
        "pass": H + "storage:\n  object_store:\n    replication_targets: [DE]\n",
        "fail": H
        + "site:\n  sovereignty:\n    residency:\n      replicas: EU  # expect: SOV-002\nstorage:\n  object_store:\n    replication_targets:\n      - DE\n      - US  # expect: SOV-002\n",
    },
    "SOV-003": {
        "pass": H + "storage:\n  backups:\n    location: DE\n",
        "fail": H
        + "site:\n  sovereignty:\n    residency:\n      backups: IE  # expect: SOV-003\nstorage:\n  backups:\n    location: US  # expect: SOV-003\n",
    },
    "SOV-004": {
        "pass": "extends: lab\nsite:\n  sovereignty:\n    residency:\n      logs: DE\n",
        "fail": H + "site:\n  sovereignty:\n    residency:\n      logs: US  # expect: SOV-004\n",
    },
    "SOV-005": {
        "pass": H + "site:\n  sovereignty:\n    residency:\n      telemetry: DE\n",
        "fail": H + "site:\n  sovereignty:\n    residency:\n      telemetry: US  # expect: SOV-005\n",
    },
    "SOV-006": {
        "pass": H + "site:\n  sovereignty:\n    key_custody:\n      provider: vault\n",
        "fail": H
        + "site:\n  sovereignty:\n    key_custody:\n      provider: vendor-managed  # expect: SOV-006\n      location: US  # expect: SOV-006\n",
    },
    "SOV-007": {
        "pass": H,
        "fail": H
        + "site:\n  sovereignty:\n    mirrors:\n      - name: oci-us\n        kind: oci\n        url: https://registry.example.com\n        location: US  # expect: SOV-007\n      - {name: helm-de, kind: helm, url: \"https://charts.aifactory.example.de\", location: DE}\n",
    },
    "SOV-008": {
        "pass": H
        + 'software:\n  charts:\n    mlflow: {version: "1.11.5", repository: "https://charts.aifactory.example.de"}\n',
        "fail": H
        + 'software:\n  charts:\n    mlflow:\n      version: "1.11.5"\n      repository: https://charts.example.com/mlflow  # expect: SOV-008\n',
    },
    "SOV-009": {
        "pass": H,
        "fail": H
        + 'site:\n  sovereignty:\n    mirrors:  # expect: SOV-009\n      - {name: oci-de, kind: oci, url: "https://registry.aifactory.example.de", location: DE}\n      - {name: helm-de, kind: helm, url: "https://charts.aifactory.example.de", location: DE}\n',
    },
    "SOV-010": {
        "pass": H,
        "fail": H + "site:\n  sovereignty:\n    vendor_telemetry: true  # expect: SOV-010\n",
    },
    "SOV-011": {
        "pass": H,
        "fail": H + "site:\n  sovereignty:\n    operator_location: US  # expect: SOV-011\n",
    },
    "SOV-013": {
        "pass": H,
        "fail": H
        + "site:\n  sovereignty:\n    provenance:\n      firmware:  # expect: SOV-013\n        - {component: bmc, version: nvfw_DGX_250629.1.0, source: \"https://apt.aifactory.example.de/firmware/\"}\n      software_manifest: \"\"  # expect: SOV-013\n",
    },
    "SOV-014": {
        "pass": H,
        "fail": H
        + "site:\n  sovereignty:\n    key_custody:\n      provider: vault  # expect: SOV-014\nstorage:\n  filesystem:\n    encryption:\n      key_ref: kms-us/lustre  # expect: SOV-014\n",
    },
    "SOV-015": {
        "pass": H
        + "site:\n  sovereignty:\n    privileged_access:\n      - {name: support-de, scope: remote-support, location: DE}\n",
        "fail": H
        + "site:\n  sovereignty:\n    privileged_access:\n      - {name: support-de, scope: bmc, location: DE}\n      - name: vendor-support\n        scope: remote-support\n        location: US  # expect: SOV-015\n",
    },
    "SOV-016": {
        "pass": H,
        "fail": H
        + "site:\n  sovereignty:\n    telemetry_endpoints:\n      - name: vendor-cloud\n        url: https://telemetry.vendor.example.com/v1\n        location: US  # expect: SOV-016\n",
    },
    "SOV-017": {
        "pass": H + "site:\n  sovereignty:\n    bundle_verification: {signing_key: 0123456789ABCDEF0123456789ABCDEF01234567}\n",
        "fail": H
        + "site:\n  sovereignty:\n    bundle_verification:\n      required: false  # expect: SOV-017\n",
    },
    "SOV-012": {
        "pass": H + "site:\n  sovereignty:\n    replication_targets: [DE]\n",
        "fail": H
        + "site:\n  sovereignty:\n    cross_border_replication: true  # expect: SOV-012\n    replication_targets:\n      - NL  # expect: SOV-012\n      - CH  # expect: SOV-012\n",
    },
    "SEC-001": {
        "pass": H,
        "fail": H
        + "storage:\n  filesystem:\n    encryption:\n      at_rest: false  # expect: SEC-001\n  backups:\n    encrypted: false  # expect: SEC-001\n",
    },
    "SEC-002": {
        "pass": H,
        "fail": H
        + "storage:\n  object_store:\n    encryption:\n      in_transit: false  # expect: SEC-002\n",
    },
    "SEC-003": {
        "pass": H,
        "fail": H
        + "mlops:\n  tenants:\n    - {name: research, gpus: 300, namespace: research}\n    - {name: production, gpus: 100, namespace: production}\n    - name: guests  # expect: SEC-003\n      gpus: 8\n      namespace: guests\n",
    },
    "SEC-004": {
        "pass": H,
        "fail": H
        + "fabric:\n  compute:\n    partitions:\n      - {tenant: research, pkey: 0x0101}\n      - tenant: production\n        pkey: 0x0101  # expect: SEC-004\n",
    },
    "SEC-005": {
        "pass": H,
        "fail": H
        + "mlops:\n  tenants:\n    - {name: research, gpus: 376, namespace: shared}\n    - name: production\n      gpus: 128\n      namespace: shared  # expect: SEC-005\n",
    },
    "SEC-006": {
        "pass": H,
        "fail": H + "fabric:\n  oob:\n    isolated: false  # expect: SEC-006\n",
    },
    "SEC-007": {
        "pass": H + "fabric:\n  nccl:\n    NCCL_DEBUG: WARN\n",
        "fail": H
        + 'fabric:\n  nccl:\n    NCCL_SOCKET_IFNAME: bond0\n    MLFLOW_TRACKING_PASSWORD: hunter2  # expect: SEC-007\nsite:\n  sovereignty:\n    key_custody:\n      operator: "https://admin:s3cr3t@vault.example.de"  # expect: SEC-007\n',
    },
    "SEC-008": {
        "pass": H,
        "fail": H + 'software:\n  charts:\n    kueue:\n      version: "0.19"  # expect: SEC-008\n',
    },
    "SEC-009": {
        "pass": H,
        "fail": H + "mlops:\n  components:\n    nim: true  # expect: SEC-009\n",
    },
    "SEC-010": {
        "pass": "extends: gb200-nvl72\n",
        "fail": 'extends: gb200-nvl72\nsoftware:\n  charts:\n    mlflow: {version: "1.11.5", repository: "https://community-charts.github.io/helm-charts"}  # expect: SEC-010\n',
    },
    "SEC-011": {
        "pass": H,
        "fail": H
        + 'software:\n  charts:\n    mlflow:\n      version: "1.11.5"\n      repository: http://charts.aifactory.example.de  # expect: SEC-011\n',
    },
    "PWR-004": {
        "pass": H,
        "fail": H + "cooling:\n  pue_target: 1.6  # expect: PWR-004\n",
    },
    "PWR-005": {
        "pass": H,
        "fail": H + "cooling:\n  redundancy: N  # expect: PWR-005\n",
    },
    "CLG-001": {
        "pass": H,
        "fail": H
        + "cooling:\n  rack_groups:\n    - name: compute\n      type: air\n      capacity: 41kW  # expect: CLG-001\n    - {name: network, type: air, capacity: 25kW, holds: [fabric, management, storage]}\n",
    },
    "CLG-002": {
        "pass": H,
        "fail": H
        + "cooling:\n  rack_groups:\n    - name: compute\n      type: direct-liquid\n      capacity: 60kW\n      water_class: W27\n      supply_c: 30  # expect: CLG-002\n      return_c: 28  # expect: CLG-002\n    - {name: network, type: air, capacity: 25kW, holds: [fabric, management, storage]}\n",
    },
    "CLG-003": {
        "pass": H,
        "fail": H
        + "cooling:\n  rack_groups:  # expect: CLG-003\n    - {name: network, type: air, capacity: 25kW, holds: [fabric, management, storage]}\n",
    },
    "FAB-001": {
        "pass": "extends: edge-l40s-inference\n",
        "fail": H + 'fabric:\n  compute:\n    oversubscription: "2:1"  # expect: FAB-001\n',
    },
    "FAB-003": {
        "pass": H,
        "fail": H + "fabric:\n  compute:\n    rails: 4  # expect: FAB-003\n",
    },
    "FAB-006": {
        "pass": "extends: mi300x-roce\n",
        "fail": "extends: mi300x-roce\nfabric:\n  compute:\n    pfc: false  # expect: FAB-006\n",
    },
    "FAB-007": {
        "pass": H,
        "fail": H + "fabric:\n  compute:\n    link_speed: 800G  # expect: FAB-007\n",
    },
    "FAB-008": {
        "pass": H,
        "fail": H + "fabric:\n  compute:\n    sharp: false  # expect: FAB-008\n",
    },
    "STO-003": {
        "pass": H,
        "fail": "extends: mi300x-roce\nname: no-checkpoints\nstorage:  # expect: STO-003\n  backups: {location: FI}\n",
    },
    "STO-004": {
        "pass": H,
        "fail": "extends: lab\nstorage:  # expect: STO-004\n  filesystem: {capacity: 20GB}\n",
    },
    "OPS-001": {
        "pass": H,
        "fail": "extends: edge-l40s-inference\nacceptance:  # expect: OPS-001\n  pcie_gbps_min: ~\n",
    },
    "OPS-002": {
        "pass": H,
        "fail": "extends: gb200-nvl72\nacceptance:  # expect: OPS-002\n  bf16_tflops_min: 1600\n",
    },
    "OPS-003": {
        "pass": H,
        "fail": H
        + 'software:\n  driver: "570.86.15"  # expect: OPS-003\n  charts:\n    gpu-operator: {version: v25.3.0, repository: "https://helm.ngc.nvidia.com/nvidia"}  # expect: OPS-003\n',
    },
    "OPS-004": {
        "pass": H,
        "fail": H + "software:  # expect: OPS-004\n  dcgm: ~\n",
    },
    "OPS-005": {
        "pass": H,
        "fail": H
        + "mlops:\n  orchestrator:\n    type: both  # expect: OPS-005\nsoftware:\n  kubernetes: ~\n",
    },
    "OPS-006": {
        "pass": H,
        "fail": H
        + "mlops:\n  components:\n    kueue: false\n  orchestrator:\n    kubernetes:\n      scheduler: kueue  # expect: OPS-006\n",
    },
    "OPS-007": {
        "pass": H,
        "fail": H
        + "mlops:\n  orchestrator:\n    slurm:\n      partitions:\n        - {name: batch, default: true}\n        - name: interactive  # expect: OPS-007\n          default: true\n",
    },
    "OPS-008": {
        "pass": "extends: gb200-nvl72\n",
        "fail": "extends: gb200-nvl72\nmlops:\n  components:\n    kserve: true  # expect: OPS-008\n",
    },
    "OPS-009": {
        "pass": "extends: gb200-nvl72\n",
        "fail": "extends: gb200-nvl72\nmlops:\n  tenants:\n    - {name: frontier, gpus: 500}\n    - name: extra\n      gpus: 100  # expect: OPS-009\n",
    },
    "OPS-010": {
        "pass": "extends: gb200-nvl72\n",
        "fail": "extends: gb200-nvl72\nmlops:\n  orchestrator:\n    slurm:\n      partitions:\n        - name: train\n          default: true\n          nodes: 200  # expect: OPS-010\n",
    },
}

root = Path(__file__).parent / "fixtures"
for rule, cases in F.items():
    for kind, text in cases.items():
        path = root / rule / kind / f"{rule.lower()}-{kind}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"# {rule} {kind} fixture: lines marked `# expect: RULE` must be reported.\n" + text)
