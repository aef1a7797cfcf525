"""retroflow's pytest plugin (entry point ``pytest11``): the fixtures plugin tests share.

Installed with retroflow, so a plugin's tests have these without a ``conftest.py``:

* ``sleep``: a :class:`~retroflow.testing.RecordingSleep`;
* ``mocked``: a ``responses.RequestsMock`` (requests not registered fail; registered ones
  need not all be sent);
* ``session``: a ``requests.Session`` for a source to send through ``mocked``;
* ``kit``: the test's own ``conftest.py`` module, its helpers as attributes (under
  ``--import-mode=importlib`` a test module cannot count on importing its conftest);
* ``retro_with``: :func:`~retroflow.testing.make_retro_for_export`; ``drafts``:
  :func:`~retroflow.testing.make_drafts`;
* for a tracker sink whose tests provide the fixture ``sink_under_test`` (a
  :class:`~retroflow.testing.sink_contract.SinkUnderTest`): ``token`` (its fake secret, in
  the environment) and ``make_client(extra="", **options)`` (a client of the configured
  sink, on the recording ``sleep`` and the contract's clock).

``responses`` and ``requests`` are imported by the fixtures that use them, so the plugin
costs nothing where they are not installed. A ``conftest.py`` fixture of the same name wins.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pytest

from retroflow.model import Retro
from retroflow.roles import TicketDraft
from retroflow.testing import RecordingSleep, make_drafts, make_retro_for_export

if TYPE_CHECKING:
    import requests
    import responses

    from retroflow.testing.sink_contract import SinkUnderTest


@pytest.fixture
def sleep() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    import responses

    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.fixture
def session() -> Iterator[requests.Session]:
    import requests

    with requests.Session() as opened:
        yield opened


@pytest.fixture
def kit(request: pytest.FixtureRequest) -> ModuleType:
    wanted = Path(request.path).parent / "conftest.py"
    for plugin in request.config.pluginmanager.get_plugins():
        if isinstance(plugin, ModuleType) and plugin.__file__ and Path(plugin.__file__) == wanted:
            return plugin
    raise LookupError(f"no conftest.py beside {request.path}")


@pytest.fixture
def retro_with() -> Callable[[int], Retro]:
    """``retro_with(n)``: a retro with ``n`` actions (the first has an owner and a due date)."""
    return make_retro_for_export


@pytest.fixture
def drafts() -> Callable[[Retro], list[TicketDraft]]:
    """``drafts(retro)``: one draft per action, keyed ``k-<action id>``."""
    return make_drafts


@pytest.fixture
def token(sink_under_test: SinkUnderTest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The sink's fake secret, set in the environment its configuration reads."""
    monkeypatch.setenv(sink_under_test.secret_env, sink_under_test.secret)
    return sink_under_test.secret


@pytest.fixture
def make_client(sink_under_test: SinkUnderTest, sleep: RecordingSleep, token: str) -> Callable[..., Any]:
    """``make_client(extra="", **options)``: a client of the sink configured with its table
    (``options`` select a variant) and the ``extra`` keys."""

    def factory(extra: str = "", **options: Any) -> Any:
        return sink_under_test.open(sleep, extra, **options)

    return factory
