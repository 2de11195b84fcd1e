"""PNG plots of throughput, temperature and power over time; matplotlib is imported here, lazily.

Returns an empty mapping when matplotlib is absent (a bare GPU node): the report says so in its summary
rather than failing the run over a picture.
"""

from __future__ import annotations

import io
from typing import Any


def render_plots(report: dict[str, Any]) -> dict[str, bytes]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return {}
    out = {"burnin-throughput.png": _throughput(plt, report)}
    samples = report["telemetry"]["samples"]
    for key, label, name in (
        ("temp_c", "GPU temperature (C)", "temperature"),
        ("power_w", "power (W)", "power"),
    ):
        out[f"burnin-{name}.png"] = _telemetry(plt, samples, key, label, report)
    return out


def _png(plt: Any, fig: Any) -> bytes:
    buf = io.BytesIO()
    # Fixed metadata keeps the bytes identical for identical data.
    fig.savefig(buf, format="png", dpi=90, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def _throughput(plt: Any, report: dict[str, Any]) -> bytes:
    fig, ax = plt.subplots(figsize=(8, 4))
    for g in report["gpus"]:
        m = (g["phases"].get("compute") or {}).get("metrics")
        if m and m.get("series"):
            ax.plot([p[0] for p in m["series"]], [p[1] for p in m["series"]], label=f"gpu {g['index']}")
    ax.set_xlabel("seconds into the compute phase")
    ax.set_ylabel("TFLOPS per batch")
    ax.set_title(f"GEMM throughput ({report['run']['device_type']}, {report['node']['hostname']})")
    if ax.lines:
        ax.legend(loc="lower right", fontsize="small")
    else:
        ax.text(0.5, 0.5, "no compute measurements", ha="center", transform=ax.transAxes)
    return _png(plt, fig)


def _telemetry(plt: Any, samples: list[dict[str, Any]], key: str, label: str, report: dict[str, Any]) -> bytes:
    fig, ax = plt.subplots(figsize=(8, 4))
    for gpu in sorted({s["gpu"] for s in samples}):
        pts = [(s["t"], s[key]) for s in samples if s["gpu"] == gpu and isinstance(s.get(key), int | float)]
        if pts:
            ax.plot([p[0] for p in pts], [p[1] for p in pts], label=f"gpu {gpu}")
    ax.set_xlabel("seconds since start")
    ax.set_ylabel(label)
    if ax.lines:
        ax.legend(loc="lower right", fontsize="small")
    else:
        ax.text(
            0.5,
            0.5,
            f"no NVML samples: {report['telemetry']['detail']}",
            ha="center",
            wrap=True,
            transform=ax.transAxes,
        )
    return _png(plt, fig)
