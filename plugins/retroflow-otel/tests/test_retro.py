"""In a whole retro: the incident comes from another source, the signals from the logs."""

from __future__ import annotations

from retroflow_otel import plugin

from retroflow.testing import build


def test_the_otel_source_reads_the_window_of_the_incident_another_source_describes(kit, tmp_path):
    kit.write_lines(
        tmp_path / "logs.jsonl",
        [
            kit.logs([kit.record(-120, "yesterday's noise"), kit.record(-5, "pool exhausted: 50/50 in use")]),
            kit.logs([kit.record(-4, "pool exhausted: 50/50 in use"), kit.record(200, "long after")]),
        ],
    )
    # build()'s own source describes the incident (created 14:00, resolved 15:00); the otel
    # source asks for it, so it runs second and reads that window.
    retro = build(
        incident=kit.incident(title="Checkout failing", services=["checkout"]),
        plugins=[plugin],
        config=f'[plugins.otel]\npaths = ["{tmp_path / "logs.jsonl"}"]\n',
    )
    signals = [e for e in retro.timeline.events if e.source == "otel"]
    assert [(e.summary, e.service) for e in signals] == [
        ("ERROR pool exhausted: 50/50 in use", "checkout"),
        ("ERROR pool exhausted: 50/50 in use", "checkout"),
    ]
    assert retro.timeline.moments.first_signal == kit.at(-5)
    assert not [g for g in retro.gaps if g.plugin == "otel"]
