"""The GitHub sink under test; the fixtures (``make_client``, ``mocked``, ``sleep``,
``token``, ``retro_with``, ``drafts``) come from retroflow's pytest plugin."""

from __future__ import annotations

import pytest

from retroflow.testing.sink_contract import SinkUnderTest

from .fake_github import github_sink


@pytest.fixture
def sink_under_test() -> SinkUnderTest:
    return github_sink()
