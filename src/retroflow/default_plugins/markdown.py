"""Renderer ``markdown``: a retro a team can paste into Confluence or a repository.

The timeline is condensed minute by minute: what people did and said is listed, floods of
signals are counted per service, and quiet runs of signal-only minutes collapse into one
row, so thousands of log lines never become thousands of rows.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import attrs

from retroflow import hookimpl
from retroflow.model import (
    LAYER_ORDER,
    ActionItem,
    Event,
    EventKind,
    Factor,
    Layer,
    Retro,
    format_duration,
    strongest_factor,
)

#: At most this many timeline rows; past it, rows without people in them are merged.
MAX_ROWS = 60
#: At most this many events are named in one row.
PER_ROW = 4

_MOMENT_LABELS = {
    "first_signal": "First signal",
    "first_alert": "First alert",
    "first_page": "First page",
    "first_ack": "First acknowledgement",
    "mitigation": "Mitigated",
    "resolve": "Resolved",
}
_DURATION_LABELS = {
    "detect": "Time to detect (first signal → alert or page)",
    "acknowledge": "Time to acknowledge (page → ack)",
    "mitigate": "Time to mitigate (start → mitigation)",
    "resolve": "Time to resolve (start → resolution)",
}


def human_duration(value: timedelta | None) -> str:
    """A duration as every retroflow text writes it (:func:`format_duration`); ``—`` if unknown."""
    return "—" if value is None else format_duration(value)


def _hm(value: datetime) -> str:
    return value.strftime("%H:%M")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _said(event: Event) -> str:
    """What happened and who did it, naming the actor once ("Acknowledged by bob", not
    "Acknowledged by bob (bob)": sources' summaries often name the person already)."""
    text = f"**{event.kind.value}** {event.summary}"
    named = event.actor and re.search(rf"(?<!\w){re.escape(event.actor)}(?!\w)", event.summary)
    return f"{text} ({event.actor})" if event.actor and not named else text


@attrs.define
class _Row:
    start: datetime
    end: datetime
    notable: list[Event] = attrs.field(factory=list)
    signals: Counter[str] = attrs.field(factory=Counter)
    #: The first signal text of the row that no earlier row gave as its example ("" if none).
    first_signal: str = ""

    @property
    def has_people(self) -> bool:
        return bool(self.notable)

    def merge(self, other: _Row) -> None:
        self.end = other.end
        self.notable.extend(other.notable)
        self.signals.update(other.signals)
        self.first_signal = self.first_signal or other.first_signal

    def label(self) -> str:
        if self.start == self.end:
            return _hm(self.start)
        return f"{_hm(self.start)}–{_hm(self.end)}"

    def text(self) -> str:
        parts = [_said(e) for e in self.notable[:PER_ROW]]
        if len(self.notable) > PER_ROW:
            parts.append(f"… and {len(self.notable) - PER_ROW} more")
        total = sum(self.signals.values())
        if total:
            by_service = ", ".join(
                f"{svc} {n:,}" for svc, n in sorted(self.signals.items(), key=lambda i: (-i[1], i[0]))
            )
            example = f" — e.g. “{self.first_signal}”" if self.first_signal else ""
            parts.append(f"{total:,} signal{'s' if total != 1 else ''} ({by_service}){example}")
        return "; ".join(parts)


def condense(events: Sequence[Event], max_rows: int = MAX_ROWS) -> list[_Row]:
    """Rows of a condensed timeline: one per minute, then merged until at most
    ``max_rows`` remain (signal-only runs first, then quiet stretches between people).

    A row's example signal is one the rows before it did not show: a log line that
    repeats for an hour is quoted once, where it starts, not on every row."""
    rows: list[_Row] = []
    shown: set[str] = set()
    current: _Row | None = None
    signal = EventKind.SIGNAL
    minute = timedelta(minutes=1)
    row_end = None
    for event in events:
        if row_end is None or event.at >= row_end:  # cheaper than truncating every time
            start = event.at.replace(second=0, microsecond=0)
            row_end = start + minute
            current = _Row(start=start, end=start)
            rows.append(current)
        assert current is not None
        if event.kind is signal:
            current.signals[event.service or "unknown service"] += 1
            if not current.first_signal and event.summary not in shown:
                current.first_signal = event.summary
                shown.add(event.summary)
        else:
            current.notable.append(event)
    rows = _merge_runs(rows, lambda a, b: not a.has_people and not b.has_people)
    if len(rows) > max_rows:
        rows = _merge_runs(rows, lambda a, b: not b.has_people)
    while len(rows) > max_rows:  # still too many: pair up neighbours
        merged: list[_Row] = []
        for i in range(0, len(rows), 2):
            row = rows[i]
            if i + 1 < len(rows):
                row.merge(rows[i + 1])
            merged.append(row)
        rows = merged
    return rows


def _merge_runs(rows: list[_Row], mergeable: Any) -> list[_Row]:
    out: list[_Row] = []
    for row in rows:
        if out and mergeable(out[-1], row):
            out[-1].merge(row)
        else:
            out.append(row)
    return out


#: Said under the actions table when two actions have the same score.
TIE_RULE = (
    "Actions with the same score are ranked by the strength of the strongest condition they answer "
    "(0 to 1, as the heuristic that found it rated it), then by title."
)


def _tie_notes(actions: Sequence[ActionItem], factors: Sequence[Factor]) -> dict[int, str]:
    """For each action whose score another action shares (by 0-based position): why it
    ranks where it does among them, in the engine's order (:func:`~retroflow.model.action_rank`)."""
    strengths = {factor.key: factor.strength for factor in factors}
    by_score: dict[float, list[int]] = {}
    for position, action in enumerate(actions):
        if action.score is not None:
            by_score.setdefault(action.score.value, []).append(position)
    notes: dict[int, str] = {}
    for score, positions in by_score.items():
        if len(positions) < 2:
            continue
        strongest = {p: strongest_factor(actions[p], strengths) for p in positions}
        level = {p: s[1] if s else 0.0 for p, s in strongest.items()}  # what the engine ranks ties by
        for position, factor in strongest.items():
            others = ", ".join(f"#{p + 1}" for p in positions if p != position)
            answers = f"answers `{factor[0]}`, strength {factor[1]:g}" if factor else "answers no condition"
            same = [f"#{p + 1}" for p in positions if p != position and level[p] == level[position]]
            if same:
                answers += f" (as strong as {', '.join(same)}: ordered by title)"
            notes[position] = f"tied at {score:g} with {others}; {answers}"
    return notes


def _lines_for_actions(actions: Sequence[ActionItem], factors: Sequence[Factor]) -> list[str]:
    lines = ["| # | Focus | Score | Action | Category | Owner | Verify by |", "|---|---|---|---|---|---|---|"]
    notes: list[str] = []
    ties = _tie_notes(actions, factors)
    if ties:
        lines[:0] = [TIE_RULE, ""]
    for rank, action in enumerate(actions, start=1):
        score = f"{action.score.value:g}" if action.score else "—"
        verify = "—"
        if action.verify:
            verify = action.verify.metric
            if action.verify.service:
                verify += f" on {action.verify.service}"
            if action.verify.target:
                verify += f": {action.verify.target}"
        lines.append(
            f"| {rank} | {'★' if action.focus else ''} | {score} | {_cell(action.title)} | "
            f"{action.category.value if action.category else '—'} | {_cell(action.owner or '—')} | {_cell(verify)} |"
        )
        details = []
        if action.change:
            details.append(f"   - Change: {action.change}")
        if action.score and action.score.explanation:
            details.append(f"   - Why this score: {action.score.explanation}")
        if rank - 1 in ties:
            details.append(f"   - Rank: {ties[rank - 1]}")
        for finding in action.findings:
            details.append(f"   - ⚠ `{finding.rule}`: {finding.message} Suggestion: {finding.suggestion}")
        if details:
            notes.append(f"{rank}. **{action.title}**")
            notes.extend(details)
    return lines + (["", *notes] if notes else [])


def _verdict(factor: Factor) -> str:
    """What people said of ``factor`` (``details["human"]``), e.g. ``confirmed by alice:
    “seen in the graphs”``; empty when nobody did."""
    human = factor.details.get("human")
    if not isinstance(human, Mapping) or not human.get("status"):
        return ""
    text = str(human["status"])
    if human.get("author"):
        text += f" by {human['author']}"
    reason = " ".join(str(human.get("reason") or "").split())  # one line in a list item
    return text + (f": “{reason}”" if reason else " (no reason given)")


def _rejected_lines(rejected: Sequence[Factor]) -> list[str]:
    if not rejected:
        return []
    out = ["### Rejected in review", "", "Found by the heuristics, rejected by people: left out of the analysis.", ""]
    for factor in rejected:
        out.append(f"- ~~{factor.title}~~ (`{factor.key}`, {factor.layer.value}): {_verdict(factor)}")
    return [*out, ""]


def _lines_for_factors(retro: Retro) -> list[str]:
    """Each condition once, by layer, with its evidence and what people said of it; then
    the ones people rejected. The narrative's lead sentence introduces them; its one line
    per factor would only list every factor a second time (the JSON keeps it whole)."""
    rejected = _rejected_lines(retro.rejected_factors)
    if not retro.factors:
        if rejected:
            return ["Every condition the heuristics found was rejected in review.", "", *rejected]
        return ["No contributing conditions were found by the installed heuristics.", ""]
    by_id = retro.timeline.index
    out = [retro.narrative[0], ""] if retro.narrative else []
    for layer in sorted(Layer, key=LAYER_ORDER.__getitem__):
        factors = [f for f in retro.factors if f.layer is layer]
        if not factors:
            continue
        out += [f"### {layer.value.capitalize()}", ""]
        for factor in factors:
            verdict = _verdict(factor)
            said = f", {verdict}" if verdict else ""
            out.append(f"- **{factor.title}** (`{factor.key}`{said}). {factor.explanation}")
            for event_id in factor.evidence[:PER_ROW]:
                event = by_id.get(event_id)
                if event is not None:
                    where = f"<{event.link}>" if event.link else f"`{event.id}`"
                    out.append(f"  - {event.at.strftime('%H:%M:%S')} {event.kind.value}: {event.summary} ({where})")
            if len(factor.evidence) > PER_ROW:
                out.append(f"  - … and {len(factor.evidence) - PER_ROW} more events")
        out.append("")
    return out + rejected


def render_markdown(retro: Retro) -> str:
    incident = retro.incident
    moments = retro.timeline.moments
    out: list[str] = [f"# Retrospective: {incident.title or incident.id}", ""]
    facts = [f"**Incident** {incident.id}"]
    if incident.services:
        facts.append(f"**Services** {', '.join(incident.services)}")
    for label, value in (
        ("Severity", incident.severity),
        ("Urgency", incident.urgency),
        ("Priority", incident.priority),
    ):
        if value:
            facts.append(f"**{label}** {value}")
    out += [" · ".join(facts), ""]
    if retro.timeline_owner is not None:
        owner = retro.timeline_owner
        out += [f"**Timeline owner** {owner.name} ({owner.reason}): reconstructs the timeline before the review.", ""]
    if incident.links:
        out += ["Links: " + ", ".join(f"<{link}>" for link in incident.links), ""]

    out += ["## Summary", ""]
    durations = moments.durations()
    out += ["| Measure | Value |", "|---|---|"]
    out += [f"| {_DURATION_LABELS[name]} | {human_duration(value)} |" for name, value in durations.items()]
    out += ["", "| Moment | Time (UTC) |", "|---|---|"]
    for name, label in _MOMENT_LABELS.items():
        value = getattr(moments, name)
        out.append(f"| {label} | {value.strftime('%Y-%m-%d %H:%M:%S') if value else '—'} |")
    out.append("")

    events = retro.timeline.events
    out += [f"## Timeline (UTC, {len(events):,} events)", ""]
    if events:
        rows = condense(events)
        day = None
        out += ["| Time | What happened |", "|---|---|"]
        for row in rows:
            label = row.label()
            if row.start.date() != day:
                day = row.start.date()
                label = f"{day.isoformat()} {label}"
            out.append(f"| {label} | {_cell(row.text())} |")
    else:
        out.append("No events were collected.")
    out.append("")

    out += ["## Contributing conditions", ""]
    out += _lines_for_factors(retro)

    out += [f"## Actions (prioritised by {retro.scoring_model or 'no model'})", ""]
    if retro.actions:
        out += _lines_for_actions(retro.actions, retro.factors)
    else:
        out.append("No actions were proposed.")
    out.append("")
    if retro.findings:
        out += ["## Review findings", ""]
        out += [f"- ⚠ `{f.rule}`: {f.message} Suggestion: {f.suggestion}" for f in retro.findings]
        out.append("")
    if retro.gaps:
        out += ["## Data gaps", "", "What retroflow could not see; conclusions above may miss it.", ""]
        out += [f"- **{g.plugin}** ({g.stage}, {g.kind}): {g.reason}" for g in retro.gaps]
        out.append("")
    return "\n".join(out)


class MarkdownRenderer:
    name = "markdown"
    extension = "md"

    def render(self, retro: Retro) -> str:
        return render_markdown(retro)


@hookimpl(trylast=True)
def retroflow_register_renderers(register: Any) -> None:
    register(MarkdownRenderer())
