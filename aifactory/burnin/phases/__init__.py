"""Phase implementations run inside the per-device workers."""
