"""Errors retroflow raises on purpose. The CLI is the one place they become messages."""

from __future__ import annotations


class RetroflowError(Exception):
    """A failure with a message meant for the user (exit code 1)."""

    exit_code = 1


class ConfigError(RetroflowError):
    """The configuration (file, environment or command line) is wrong (exit code 2)."""

    exit_code = 2


class PluginError(RetroflowError):
    """A plugin could not be loaded or registered something invalid (exit code 1)."""


class SourceError(RetroflowError):
    """A timeline source could not collect; the engine records it as a data gap."""
