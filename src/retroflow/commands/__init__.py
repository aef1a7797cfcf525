"""Click commands registered through ``retroflow_register_commands`` by default plugins
(``retroflow.default_plugins.*_commands``)."""
