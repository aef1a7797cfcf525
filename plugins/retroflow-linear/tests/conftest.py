"""The Linear sink under test; the fixtures (``make_client``, ``mocked``, ``sleep``,
``token``, ``retro_with``, ``drafts``) come from retroflow's pytest plugin."""

from __future__ import annotations

import pytest

from retroflow.testing.sink_contract import SinkUnderTest

from .fake_linear import linear_sink


@pytest.fixture
def sink_under_test() -> SinkUnderTest:
    return linear_sink()
