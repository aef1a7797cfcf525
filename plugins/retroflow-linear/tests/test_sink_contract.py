"""The Linear sink against retroflow's sink contract suite."""

from __future__ import annotations

from retroflow.testing.sink_contract import SinkContract


class TestLinearSinkContract(SinkContract):
    pass
