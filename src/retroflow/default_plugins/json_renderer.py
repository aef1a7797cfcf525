"""Renderer ``json``: the versioned JSON document (see ``docs/json-schema.md``)."""

from __future__ import annotations

from typing import Any

from retroflow import hookimpl
from retroflow.model import Retro
from retroflow.serialize import dumps


class JsonRenderer:
    name = "json"
    extension = "json"

    def render(self, retro: Retro) -> str:
        return dumps(retro)


@hookimpl(trylast=True)
def retroflow_register_renderers(register: Any) -> None:
    register(JsonRenderer())
