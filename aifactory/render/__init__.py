"""Renderers: the validated model and the design, turned into artifacts (inventory, configuration files)."""
