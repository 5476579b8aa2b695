"""Subcommands of later stages (index, rank, reports, consult), kept apart from the core CLI."""
from __future__ import annotations


def add_commands(sub) -> None:
    """Register the later subcommands on the CLI's subparsers."""
    return None
