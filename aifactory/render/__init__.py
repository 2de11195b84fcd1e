"""Renderers: the validated model and its design turned into artifacts (inventory, Slurm, Kubernetes)."""
