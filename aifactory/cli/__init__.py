"""Command-line interface: one Typer sub-app or command per file, registered in `main.py`."""
