"""Renderers: turn a validated blueprint (and its design) into artifacts other tools consume."""
