"""Registers the store's commands (``retros``, ``show``, ``input``, ``export``, ``followup``,
``db``: :mod:`retroflow.commands.store`) like any plugin's commands."""

from __future__ import annotations

import click

from retroflow import hookimpl
from retroflow.commands.store import COMMANDS


@hookimpl
def retroflow_register_commands(cli: click.Group) -> None:
    for command in COMMANDS:
        cli.add_command(command)
