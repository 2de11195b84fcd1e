"""Blueprint model and loader: YAML in, a validated `Blueprint` with file:line for every value out."""

from aifactory.blueprint.loader import LoadedBlueprint, load_blueprint, load_tree, validate_tree
from aifactory.blueprint.model import Blueprint

__all__ = ["Blueprint", "LoadedBlueprint", "load_blueprint", "load_tree", "validate_tree"]
