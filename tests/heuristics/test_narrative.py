"""The narrative of conditions: data (one line per factor, grouped by layer, with the events
it cites), and its Markdown wording (a lead line, then one line per factor)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from retroflow.model import Factor, NarrativeLine, Retro, Timeline
from retroflow.narrative import LEAD, narrate, narrative_lines
from retroflow.serialize import dumps, from_document, to_document
from retroflow.testing import make_event, make_incident


def _retro(factors: list[Factor], events: list) -> Retro:  # type: ignore[type-arg]
    timeline = Timeline.from_events(events)
    return Retro(incident=make_incident(), timeline=timeline, factors=tuple(factors), narrative=narrate(factors))


SCHEMAS = Path(__file__).resolve().parents[2] / "src" / "retroflow" / "schema"


def test_one_line_per_factor_grouped_by_layer_with_linked_evidence():
    deploy = make_event("deploy", -5, summary="Deploy", link="https://ci/deploys/1")
    signal = make_event("log", 0)
    page = make_event("page", 20, actor="bob")
    factors = [
        Factor(key="late-escalation", layer="process", title="Late", explanation="", evidence=(page.id,)),
        Factor(key="slow-ack", layer="human", title="Slow", explanation="", evidence=(page.id,)),
        Factor(key="change", layer="technical", title="A change", explanation="", evidence=(deploy.id, signal.id)),
    ]
    assert narrate(factors) == (
        NarrativeLine("change", (deploy.id, signal.id)),
        NarrativeLine("slow-ack", (page.id,)),
        NarrativeLine("late-escalation", (page.id,)),
    )
    lines = narrative_lines(_retro(factors, [deploy, signal, page]))
    assert lines[0] == LEAD == "This incident needed these conditions to line up:"
    assert [line.split(":")[0] for line in lines[1:]] == ["- Technical", "- Human", "- Process"]
    assert lines[1] == (
        f"- Technical: A change (`change`; evidence: [13:55 change](https://ci/deploys/1), 14:00 signal `{signal.id}`)"
    )


def test_long_evidence_is_counted_not_listed():
    events = [make_event("alert", i) for i in range(5)]
    factor = Factor(key="noise", layer="technical", title="Noise", explanation="", evidence=[e.id for e in events])
    assert narrate([factor])[0].evidence == tuple(e.id for e in events[:3])
    (line,) = narrative_lines(_retro([factor], events))[1:]
    assert line.endswith(", 2 more)")


def test_no_factors_no_narrative():
    assert narrate([]) == ()
    assert narrative_lines(_retro([], [])) == ()


def test_the_engine_sets_the_narrative(retro_of):
    retro = retro_of([make_event("log", 0, service="checkout"), make_event("alert", 30, service="checkout")])
    assert [line.factor for line in retro.narrative] == [f.key for f in retro.factors]
    assert narrative_lines(retro)[0] == LEAD
    assert any("`detection-gap`" in line for line in narrative_lines(retro))


def test_the_json_document_carries_data_not_markdown(retro_of):
    retro = retro_of([make_event("log", 0, service="checkout"), make_event("alert", 30, service="checkout")])
    document = json.loads(dumps(retro))
    assert document["narrative"] == [
        {"factor": line.factor, "evidence": list(line.evidence)} for line in retro.narrative
    ]
    assert not any("`" in json.dumps(item) for item in document["narrative"])
    assert from_document(document).narrative == retro.narrative


def test_a_document_with_the_old_markdown_narrative_still_loads(retro_of):
    """Documents stored before the narrative was data hold its Markdown lines: read back,
    the narrative is told again from the factors, as it was made."""
    retro = retro_of([make_event("log", 0, service="checkout"), make_event("alert", 30, service="checkout")])
    old = to_document(retro)
    old["schema"] = "retroflow.retro/1"
    old["narrative"] = list(narrative_lines(retro))
    assert all(isinstance(line, str) for line in old["narrative"])
    jsonschema.validate(old, json.loads((SCHEMAS / "retro-1.schema.json").read_text(encoding="utf-8")))
    assert from_document(old) == retro


def test_the_narrative_s_change_of_type_is_a_new_schema_version(retro_of):
    retro = retro_of([make_event("log", 0, service="checkout"), make_event("alert", 30, service="checkout")])
    document = json.loads(dumps(retro))
    assert document["schema"] == "retroflow.retro/2"
    jsonschema.validate(document, json.loads((SCHEMAS / "retro-2.schema.json").read_text(encoding="utf-8")))
    with pytest.raises(jsonschema.ValidationError):  # a reader of version 1 is told, not misled
        jsonschema.validate(document, json.loads((SCHEMAS / "retro-1.schema.json").read_text(encoding="utf-8")))
