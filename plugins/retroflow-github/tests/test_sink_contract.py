"""The GitHub Issues sink against retroflow's sink contract suite."""

from __future__ import annotations

from retroflow.testing.sink_contract import SinkContract


class TestGitHubSinkContract(SinkContract):
    pass
