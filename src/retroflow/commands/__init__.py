"""Command-line commands registered through
:func:`~retroflow.hookspecs.retroflow_register_commands` by default plugins."""
