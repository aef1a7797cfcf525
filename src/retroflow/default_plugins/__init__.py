"""The built-in plugins, grouped by the stage they serve: sources/ (1, reconstruct),
conditions/ (2, contributing conditions), review/ (3), scoring/ (4, prioritise),
renderers/ (documents), outcomes/ (5, close the loop); and the plugins that register the
commands in :mod:`retroflow.commands`. See docs/architecture.md."""
