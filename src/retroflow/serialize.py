"""The JSON document of a retro (schema ``retroflow.retro/2``) and back.

``docs/json-schema.md`` documents the fields; ``src/retroflow/schema/retro-2.schema.json``
is the machine-readable schema. :func:`to_document` and :func:`from_document` round-trip:
``from_document(to_document(r)) == r``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import attrs
import orjson

from retroflow.model import (
    ActionItem,
    DoneAction,
    Event,
    EventKind,
    Factor,
    Finding,
    Gap,
    Incident,
    Moments,
    NarrativeLine,
    Outcome,
    OutcomeControl,
    OutcomeWindow,
    PastActions,
    Retro,
    Score,
    Timeline,
    TimelineOwner,
    Verdict,
    Verification,
    as_utc,
    format_timestamp,
    parse_timestamp,
)
from retroflow.narrative import narrate

SCHEMA = "retroflow.retro/2"
#: Schemas :func:`from_document` reads: version 1 held the narrative as Markdown lines.
READABLE_SCHEMAS = ("retroflow.retro/1", SCHEMA)


def _ts(value: datetime | None) -> str | None:
    return None if value is None else format_timestamp(value)


def _parse(value: str | None) -> datetime | None:
    return None if value is None else parse_timestamp(value)


def _seconds(value: timedelta | None) -> float | None:
    return None if value is None else value.total_seconds()


def attributes(record: Any, *names: str) -> dict[str, Any]:
    """``record``'s attributes of these names, by name, as they are: the keys of a document
    that hold an attribute unchanged."""
    return {name: getattr(record, name) for name in names}


def timestamps(record: Any, *names: str) -> dict[str, str | None]:
    """``record``'s timestamps of these names, by name, as documents write them
    (:func:`~retroflow.model.format_timestamp`; ``None`` stays ``None``)."""
    return {name: _ts(getattr(record, name)) for name in names}


def _required(data: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    """The values of these keys of a document, by key, as they are (each one must be there)."""
    return {key: data[key] for key in keys}


def incident_to_dict(incident: Incident) -> dict[str, Any]:
    return {
        "id": incident.id,
        "title": incident.title,
        "source": incident.source,
        "services": list(incident.services),
        "severity": incident.severity,
        "urgency": incident.urgency,
        "priority": incident.priority,
        "teams": list(incident.teams),
        "created": _ts(incident.created),
        "resolved": _ts(incident.resolved),
        "links": list(incident.links),
        "details": dict(incident.details),
    }


def incident_from_dict(data: dict[str, Any]) -> Incident:
    return Incident(
        id=data["id"],
        title=data.get("title", ""),
        source=data.get("source", ""),
        services=data.get("services", ()),
        severity=data.get("severity"),
        urgency=data.get("urgency"),
        priority=data.get("priority"),
        teams=data.get("teams", ()),
        created=_parse(data.get("created")),
        resolved=_parse(data.get("resolved")),
        links=data.get("links", ()),
        details=data.get("details") or {},
    )


def event_to_dict(event: Event) -> dict[str, Any]:
    data = _event_data(event)
    data["at"] = format_timestamp(data["at"])
    data["kind"] = event.kind.value
    return data


def _event_data(event: Event) -> dict[str, Any]:
    """An event as the document holds it, but ``at`` still a datetime and ``kind`` the enum
    (orjson writes both; :func:`event_to_dict` gives the plain JSON values)."""
    at = event.at
    source = event.source
    data: dict[str, Any] = {
        "at": at if at.tzinfo is UTC else as_utc(at),
        "id": source + ":" + event.native_id,
        "kind": event.kind,
        "source": source,
        "summary": event.summary,
    }
    if event.actor is not None:
        data["actor"] = event.actor
    if event.service is not None:
        data["service"] = event.service
    if event.link is not None:
        data["link"] = event.link
    if event.details:
        data["details"] = event.details
    return data


def event_from_dict(data: dict[str, Any]) -> Event:
    source = data["source"]
    return Event(
        at=parse_timestamp(data["at"]),
        source=source,
        kind=EventKind(data["kind"]),
        summary=data["summary"],
        native_id=data["id"][len(source) + 1 :],
        actor=data.get("actor"),
        service=data.get("service"),
        link=data.get("link"),
        details=data.get("details") or {},
    )


def factor_to_dict(factor: Factor) -> dict[str, Any]:
    return {
        "key": factor.key,
        "layer": factor.layer.value,
        "title": factor.title,
        "explanation": factor.explanation,
        "evidence": list(factor.evidence),
        "strength": factor.strength,
        "details": dict(factor.details),
    }


def factor_from_dict(data: dict[str, Any]) -> Factor:
    return Factor(
        **_required(data, "key", "layer", "title", "explanation", "evidence", "strength"),
        details=data.get("details") or {},
    )


def finding_to_dict(finding: Finding) -> dict[str, Any]:
    return attributes(finding, "rule", "message", "suggestion", "target", "severity")


def action_to_dict(action: ActionItem) -> dict[str, Any]:
    return {
        "id": action.id,
        "title": action.title,
        "change": action.change,
        "category": action.category.value if action.category else None,
        "owner": action.owner,
        "due": action.due.isoformat() if action.due else None,
        "factors": list(action.factors),
        "verify": None
        if action.verify is None
        else {"metric": action.verify.metric, "service": action.verify.service, "target": action.verify.target},
        "effort": action.effort.value if action.effort else None,
        "proposed_by": action.proposed_by,
        "score": None
        if action.score is None
        else {
            "model": action.score.model,
            "value": action.score.value,
            "inputs": dict(action.score.inputs),
            "explanation": action.score.explanation,
        },
        "findings": [finding_to_dict(f) for f in action.findings],
        "focus": action.focus,
        "details": dict(action.details),
    }


def action_from_dict(data: dict[str, Any]) -> ActionItem:
    verify = data.get("verify")
    score = data.get("score")
    return ActionItem(
        id=data["id"],
        title=data["title"],
        change=data.get("change", ""),
        category=data.get("category"),
        owner=data.get("owner"),
        due=date.fromisoformat(data["due"]) if data.get("due") else None,
        factors=data.get("factors", ()),
        verify=Verification.from_dict(verify) if verify else None,
        effort=data.get("effort"),
        proposed_by=data.get("proposed_by", ""),
        score=Score.from_dict(score) if score else None,
        findings=[Finding.from_dict(f) for f in data.get("findings", ())],
        focus=data.get("focus", False),
        details=data.get("details") or {},
    )


def _finite(value: float | None) -> float | None:
    """A number as JSON holds it: an unbounded interval end (infinity) is ``null``."""
    return None if value is None or math.isinf(value) or math.isnan(value) else value


def _unbounded(value: float | None) -> float:
    return math.inf if value is None else value


def window_to_dict(window: OutcomeWindow) -> dict[str, Any]:
    return {
        "from": format_timestamp(window.start),
        "to": format_timestamp(window.end),
        "n": window.n,
        "value": _finite(window.value),
        "count": window.count,
        "exposure": window.exposure,
        "p90": window.p90,
    }


def window_from_dict(data: dict[str, Any]) -> OutcomeWindow:
    return OutcomeWindow(
        start=parse_timestamp(data["from"]),
        end=parse_timestamp(data["to"]),
        n=data["n"],
        value=data.get("value"),
        count=data.get("count"),
        exposure=data.get("exposure"),
        p90=data.get("p90"),
    )


def done_action_to_dict(action: DoneAction) -> dict[str, Any]:
    return {
        **attributes(action, "id", "incident", "title", "service", "metric"),
        "done_at": format_timestamp(action.done_at),
        "origin": action.origin,
    }


def done_action_from_dict(data: dict[str, Any]) -> DoneAction:
    return DoneAction(
        **_required(data, "id", "incident", "title", "metric"),
        service=data.get("service"),
        done_at=parse_timestamp(data["done_at"]),
        origin=data.get("origin", ""),
    )


def outcome_to_dict(outcome: Outcome) -> dict[str, Any]:
    """An action's verdict, as ``retroflow outcomes --json`` and the retro document give it."""
    control = outcome.control
    return {
        **done_action_to_dict(outcome.action),
        "verdict": outcome.verdict.value,
        "before": window_to_dict(outcome.before),
        "after": window_to_dict(outcome.after),
        "effect": _finite(outcome.effect),
        "ci": None if outcome.ci is None else [_finite(outcome.ci[0]), _finite(outcome.ci[1])],
        **attributes(outcome, "p", "q", "method", "needed", "reason"),
        "control": None
        if control is None
        else {
            "services": control.services,
            "before": window_to_dict(control.before),
            "after": window_to_dict(control.after),
            "effect": _finite(control.effect),
            "p": control.p,
            "fleet_moved": control.fleet_moved,
        },
    }


def outcome_from_dict(data: dict[str, Any]) -> Outcome:
    control = data.get("control")
    ci = data.get("ci")
    return Outcome(
        action=done_action_from_dict(data),
        verdict=Verdict(data["verdict"]),
        before=window_from_dict(data["before"]),
        after=window_from_dict(data["after"]),
        effect=data.get("effect"),
        ci=None if ci is None else (ci[0], _unbounded(ci[1])),
        p=data.get("p"),
        q=data.get("q"),
        method=data.get("method", ""),
        needed=data.get("needed"),
        reason=data.get("reason", ""),
        control=None
        if control is None
        else OutcomeControl(
            services=control["services"],
            before=window_from_dict(control["before"]),
            after=window_from_dict(control["after"]),
            effect=control.get("effect"),
            p=control.get("p"),
            fleet_moved=control["fleet_moved"],
        ),
    )


def past_actions_to_dict(past: PastActions | None) -> dict[str, Any] | None:
    if past is None:
        return None
    return {
        "services": list(past.services),
        "as_of": _ts(past.as_of),
        "incidents": past.incidents,
        "actions": [outcome_to_dict(o) for o in past.outcomes],
        "unmeasured": [done_action_to_dict(a) for a in past.unmeasured],
    }


def past_actions_from_dict(data: dict[str, Any] | None) -> PastActions | None:
    if data is None:
        return None
    return PastActions(
        services=tuple(data["services"]),
        as_of=_parse(data.get("as_of")),
        incidents=data["incidents"],
        outcomes=tuple(outcome_from_dict(o) for o in data["actions"]),
        unmeasured=tuple(done_action_from_dict(a) for a in data.get("unmeasured", ())),
    )


def to_document(retro: Retro, *, timeline: bool = True) -> dict[str, Any]:
    """The retro as plain JSON-able data (schema ``retroflow.retro/2``); without the
    ``timeline`` key when ``timeline`` is false."""
    moments = retro.timeline.moments
    doc: dict[str, Any] = {
        "schema": SCHEMA,
        "version": retro.version,
        "incident": incident_to_dict(retro.incident),
        "moments": timestamps(moments, *attrs.fields_dict(Moments)),
        "durations": {name: _seconds(value) for name, value in moments.durations().items()},
        "factors": [factor_to_dict(f) for f in retro.factors],
        "rejected_factors": [factor_to_dict(f) for f in retro.rejected_factors],
        "narrative": [{"factor": line.factor, "evidence": list(line.evidence)} for line in retro.narrative],
        "scoring_model": retro.scoring_model,
        "actions": [action_to_dict(a) for a in retro.actions],
        "findings": [finding_to_dict(f) for f in retro.findings],
        "gaps": [
            {"plugin": g.plugin, "stage": g.stage, "kind": g.kind, "reason": g.reason, "count": g.count}
            for g in retro.gaps
        ],
        "history": [incident_to_dict(i) for i in retro.history],
        "past_actions": past_actions_to_dict(retro.past_actions),
        "timeline_owner": None
        if retro.timeline_owner is None
        else {"name": retro.timeline_owner.name, "reason": retro.timeline_owner.reason},
    }
    if timeline:
        doc["timeline"] = [event_to_dict(e) for e in retro.timeline.events]
    return doc


def from_document(doc: dict[str, Any]) -> Retro:
    """Rebuild a :class:`Retro` from :func:`to_document` output."""
    if doc.get("schema") not in READABLE_SCHEMAS:
        raise ValueError(f"not a {SCHEMA} document (schema: {doc.get('schema')!r})")
    incident = incident_from_dict(doc["incident"])
    factors = tuple(factor_from_dict(f) for f in doc["factors"])
    timeline = Timeline(
        events=tuple(event_from_dict(e) for e in doc["timeline"]),
        moments=Moments.from_dict(doc["moments"]),
    )
    return Retro(
        incident=incident,
        timeline=timeline,
        factors=factors,
        rejected_factors=tuple(factor_from_dict(f) for f in doc.get("rejected_factors", ())),
        actions=tuple(action_from_dict(a) for a in doc["actions"]),
        findings=tuple(Finding.from_dict(f) for f in doc["findings"]),
        gaps=tuple(Gap.from_dict(g) for g in doc["gaps"]),
        history=tuple(incident_from_dict(i) for i in doc.get("history", ())),
        scoring_model=doc.get("scoring_model", ""),
        narrative=_narrative_from(doc.get("narrative", ()), factors),
        version=doc.get("version", 1),
        past_actions=past_actions_from_dict(doc.get("past_actions")),
        timeline_owner=TimelineOwner.from_dict(owner) if (owner := doc.get("timeline_owner")) else None,
    )


def _narrative_from(data: Sequence[Any], factors: Sequence[Factor]) -> tuple[NarrativeLine, ...]:
    """The narrative a document holds. Version 1 documents (and those written within it
    before the narrative was data) hold its Markdown lines instead: made from the factors
    alone, it is told again from them."""
    if any(isinstance(line, str) for line in data):
        return narrate(factors)
    return tuple(NarrativeLine.from_dict(line) for line in data)


# orjson writes the document: a 100,000-event timeline is most of it, and one orjson call
# encodes it several times faster than the json module (bench/bench_build.py). Keys sorted,
# UTC written with "Z", anything else that is not JSON written as str().
_OPTIONS = (
    orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS | orjson.OPT_UTC_Z | orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE
)


def json_default(value: Any) -> Any:
    """What JSON has no type for, as the JSON document writes it (the store and the
    ``json``-module paths use this too): a read-only mapping as an object, a datetime in
    ISO 8601 (``Z`` for UTC, as orjson writes it), anything else as ``str()``."""
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, datetime):
        text = value.isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text
    return str(value)


def dumps_bytes(retro: Retro) -> bytes:
    """The JSON document as UTF-8: sorted keys, two-space indent, characters as they are
    (no ``\\u`` escapes), and a final newline. The same retro always gives the same bytes."""
    doc = to_document(retro, timeline=False)
    # The events themselves: orjson asks _document_default for each one's object as it
    # writes, so one is alive at a time, not 300,000 (100 MB) before the first byte.
    doc["timeline"] = retro.timeline.events
    try:
        return orjson.dumps(doc, default=_document_default, option=_OPTIONS)
    except orjson.JSONEncodeError:  # e.g. an integer beyond 64 bits in some details
        doc["timeline"] = [event_to_dict(e) for e in retro.timeline.events]
        return (json.dumps(doc, sort_keys=True, indent=2, ensure_ascii=False, default=json_default) + "\n").encode()


def _document_default(value: Any) -> Any:
    return _event_data(value) if isinstance(value, Event) else json_default(value)


def dumps(retro: Retro) -> str:
    """:func:`dumps_bytes` as text."""
    return dumps_bytes(retro).decode()
