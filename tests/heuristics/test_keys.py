"""Factor keys live in one module: the heuristics, their proposers and the scoring models
name them from there, and no default plugin imports another plugin to learn one."""

from __future__ import annotations

import ast
from pathlib import Path

from retroflow.default_plugins.conditions import keys
from retroflow.testing import build, make_event

PLUGINS = Path(keys.__file__).parents[1]


def _keys() -> dict[str, str]:
    return {name: value for name, value in vars(keys).items() if name.isupper()}


def test_every_key_is_one_distinct_string() -> None:
    values = list(_keys().values())
    assert len(values) == len(set(values)) == 15


def test_the_keys_a_retro_carries_come_from_the_keys_module() -> None:
    events = [
        make_event("deploy", -5, service="checkout"),
        make_event("log", 0, service="checkout"),
        make_event("log", 1, service="payments"),
        make_event("page", 30, service="checkout", actor="ana"),
    ]
    found = {factor.key for factor in build(events).factors}
    assert found and found <= set(_keys().values())


def test_no_default_plugin_imports_another_for_a_key() -> None:
    """Scoring and review import the conditions' keys, never a heuristic module."""
    heuristics = {
        f"retroflow.default_plugins.conditions.{p.stem}"
        for p in (PLUGINS / "conditions").glob("*.py")
        if p.stem not in {"keys", "facts", "__init__"}
    }
    for path in PLUGINS.rglob("*.py"):
        if path.parent.name == "conditions":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                assert node.module not in heuristics, f"{path.name} imports {node.module}"
