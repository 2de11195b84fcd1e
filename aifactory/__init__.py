"""aifactory: declarative infrastructure-as-code for sovereign GPU AI factories."""

__version__ = "0.1.0"
