"""Routes plugins add to ``retroflow serve`` (``retroflow_register_routes``): each plugin
called on its own, and a failure names the plugin."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from retroflow import hookimpl
from retroflow.errors import PluginError
from retroflow.service.app import plugin_routes
from retroflow.testing import make_plugins


async def _hello(request: Any) -> PlainTextResponse:
    return PlainTextResponse("hello")


class _Registers:
    def __init__(self, *routes: Any, error: Exception | None = None) -> None:
        self.routes = routes
        self.error = error

    @hookimpl
    def retroflow_register_routes(self, register: Callable[[Any], None]) -> None:
        for route in self.routes:
            register(route)
        if self.error is not None:
            raise self.error


def test_the_routes_of_every_plugin_are_collected() -> None:
    hello, bye = Route("/hello", _hello), Route("/bye", _hello)
    plugins = make_plugins(("hello", _Registers(hello)), ("bye", _Registers(bye)), default_plugins=False)
    assert sorted(r.path for r in plugin_routes(plugins)) == ["/bye", "/hello"]


def test_a_registered_object_that_is_not_a_route_names_the_plugin() -> None:
    plugins = make_plugins(("odd", _Registers("/hello")), default_plugins=False)
    with pytest.raises(PluginError, match=r"^plugin 'odd' registered '/hello', which is not a Starlette route$"):
        plugin_routes(plugins)


def test_a_plugin_that_raises_names_itself_and_the_hook() -> None:
    plugins = make_plugins(("broken", _Registers(error=ValueError("no routes today"))), default_plugins=False)
    with pytest.raises(PluginError, match=r"^plugin 'broken' failed in retroflow_register_routes: no routes today$"):
        plugin_routes(plugins)
