"""Helpers for the Kubernetes renderer: one file per layer, plus the shared context and GitOps output."""
