"""Renderer ``json``: the versioned JSON document (see ``docs/json-schema.md``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from retroflow import hookimpl
from retroflow.model import Retro
from retroflow.serialize import dumps, dumps_bytes

if TYPE_CHECKING:
    from retroflow.roles import Renderer


class JsonRenderer:
    name = "json"
    extension = "json"

    def render(self, retro: Retro) -> str:
        return dumps(retro)

    def render_bytes(self, retro: Retro) -> bytes:
        # Written as orjson makes it: decoding 30 MB to str and encoding it back to write
        # it would cost more than the encoding itself (bench/bench_build.py).
        return dumps_bytes(retro)


@hookimpl(trylast=True)
def retroflow_register_renderers(register: Callable[[Renderer], None]) -> None:
    register(JsonRenderer())
