"""The timeline owner: the first person to acknowledge, unless config names a rota; shown
in the model, the Markdown and the JSON document."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from retroflow import TimelineOwner
from retroflow.default_plugins.renderers.json import JsonRenderer
from retroflow.default_plugins.renderers.markdown import render_markdown
from retroflow.serialize import from_document, to_document
from retroflow.testing import build, make_event, make_incident

SCHEMA = json.loads(
    (Path(__file__).resolve().parents[2] / "src/retroflow/schema/retro-2.schema.json").read_text(encoding="utf-8")
)


def acked() -> list:  # type: ignore[type-arg]
    return [
        make_event("alert", 0, summary="error rate alert"),
        make_event("page", 1, actor="alice"),
        make_event("ack", 3, actor="bob", summary="Acknowledged"),
        make_event("ack", 4, actor="alice", summary="Acknowledged"),
        make_event("resolve", 30),
    ]


def test_the_first_acknowledger_owns_the_timeline() -> None:
    retro = build(acked())
    assert retro.timeline_owner == TimelineOwner("bob", "first to acknowledge")


def test_an_ack_without_a_person_is_skipped_and_no_ack_means_no_owner() -> None:
    events = [make_event("ack", 2, summary="auto-acknowledged"), *acked()]
    assert build(events).timeline_owner == TimelineOwner("bob", "first to acknowledge")
    assert build([make_event("alert", 0), make_event("resolve", 5)]).timeline_owner is None


def test_a_rota_wins_and_gives_each_incident_the_same_person_on_every_build() -> None:
    config = '[retroflow]\ntimeline_owner_rota = ["carol", "dan", "erin"]\n'
    owners = {}
    for n in range(30):
        incident = make_incident(id=f"INC-{n}")
        first = build(acked(), incident=incident, config=config).timeline_owner
        again = build(acked(), incident=incident, config=config).timeline_owner
        assert first == again
        assert first is not None and first.reason == "rota"
        owners[incident.id] = first.name
    assert set(owners.values()) == {"carol", "dan", "erin"}  # spread over the rota


def test_the_owner_is_in_the_markdown_and_the_json_document_which_validates() -> None:
    retro = build(acked())
    assert "**Timeline owner** bob (first to acknowledge)" in render_markdown(retro)
    document = json.loads(JsonRenderer().render(retro))
    assert document["timeline_owner"] == {"name": "bob", "reason": "first to acknowledge"}
    jsonschema.Draft202012Validator(SCHEMA).validate(document)
    assert from_document(to_document(retro)) == retro


def test_documents_without_an_owner_read_back_and_validate() -> None:
    retro = build([make_event("alert", 0), make_event("resolve", 5)])
    document = to_document(retro)
    assert document["timeline_owner"] is None
    jsonschema.Draft202012Validator(SCHEMA).validate(document)
    del document["timeline_owner"]  # written before the key existed
    assert from_document(document).timeline_owner is None
    assert "Timeline owner" not in render_markdown(retro)
