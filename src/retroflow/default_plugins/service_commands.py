"""Registers the automation's commands (``serve``, ``worker``, ``jobs``, ``watch``,
:mod:`retroflow.commands.service`) like any plugin's commands."""

from __future__ import annotations

import click

from retroflow import hookimpl
from retroflow.commands.service import COMMANDS


@hookimpl
def retroflow_register_commands(cli: click.Group) -> None:
    for command in COMMANDS:
        cli.add_command(command)
