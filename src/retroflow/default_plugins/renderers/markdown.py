"""Renderer ``markdown``: a retro a team can paste into Confluence or a repository.

The timeline is condensed (:mod:`~retroflow.default_plugins.renderers.condense`), so
thousands of log lines never become thousands of rows.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from retroflow import hookimpl
from retroflow.default_plugins.renderers import texts
from retroflow.default_plugins.renderers.condense import MAX_ROWS, PER_ROW, Row, condense
from retroflow.default_plugins.renderers.texts import human_duration
from retroflow.model import ActionItem, Event, Factor, Retro
from retroflow.narrative import LEAD

if TYPE_CHECKING:
    from retroflow.roles import Renderer

__all__ = ["MAX_ROWS", "MarkdownRenderer", "condense", "human_duration", "render_markdown"]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _said(event: Event) -> str:
    """What happened and who did it, naming the actor once ("Acknowledged by bob", not
    "Acknowledged by bob (bob)": sources' summaries often name the person already)."""
    text = f"**{event.kind.value}** {event.summary}"
    actor = texts.actor_to_name(event)
    return f"{text} ({actor})" if actor else text


def _row_text(row: Row) -> str:
    parts = [_said(e) for e in row.shown]
    if row.more:
        parts.append(f"… and {row.more} more")
    total = row.signal_total
    if total:
        by_service = ", ".join(f"{svc} {n:,}" for svc, n in row.signals_by_service())
        example = f" — e.g. “{row.first_signal}”" if row.first_signal else ""
        parts.append(f"{total:,} signal{'s' if total != 1 else ''} ({by_service}){example}")
    return "; ".join(parts)


def _lines_for_actions(actions: Sequence[ActionItem], factors: Sequence[Factor]) -> list[str]:
    lines = ["| # | Focus | Score | Action | Category | Owner | Verify by |", "|---|---|---|---|---|---|---|"]
    notes: list[str] = []
    ties = texts.tie_notes(actions, factors)
    if ties:
        lines[:0] = [texts.TIE_RULE, ""]
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


def _rejected_lines(rejected: Sequence[Factor]) -> list[str]:
    if not rejected:
        return []
    out = ["### Rejected in review", "", "Found by the heuristics, rejected by people: left out of the analysis.", ""]
    for factor in rejected:
        out.append(f"- ~~{factor.title}~~ (`{factor.key}`, {factor.layer.value}): {texts.verdict(factor)}")
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
    out = [LEAD, ""] if retro.narrative else []
    for heading, factors in texts.factors_by_layer(retro.factors):
        out += [f"### {heading}", ""]
        for factor in factors:
            said = texts.verdict(factor)
            said = f", {said}" if said else ""
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


PAST_ACTIONS_TITLE = "Which past retro actions measurably improved the system?"


def _ratio(value: float | None) -> str:
    if value is None:
        return "—"
    return "∞" if math.isinf(value) else f"{value:.2f}"


def _past_action_lines(retro: Retro) -> list[str]:
    """The standing question, answered from the store's history (or said plainly why not)."""
    out = [f"## {PAST_ACTIONS_TITLE}", ""]
    past = retro.past_actions
    if past is None:
        failed = any(g.stage == "outcomes" for g in retro.gaps)
        why = (
            "the store's history could not be read (see Data gaps)"
            if failed
            else "this retro was built without the store (`--no-store`); `retroflow outcomes` answers it from the store"
        )
        return [*out, f"Not looked up: {why}.", ""]
    if not past.services:
        return [*out, "This incident names no service, so no past action can be matched to it.", ""]
    services = ", ".join(past.services)
    when = f" when this incident began ({past.as_of:%Y-%m-%d %H:%M} UTC)" if past.as_of else ""
    if not past.outcomes and not past.unmeasured:
        if not past.incidents:
            return [*out, f"No history of {services} yet: no past incidents or done actions are known.", ""]
        return [
            *out,
            f"No past retro action on {services} was marked done{when} ({past.incidents} past incidents).",
            "",
        ]
    out += [
        f"Done actions on {services}, judged on the history known{when} ({past.incidents} past incidents): "
        "the metric each was meant to move, before and after.",
        "",
        "| Verdict | Action | Metric | Done | Change (interval) | p | q |",
        "|---|---|---|---|---|---|---|",
    ]
    for outcome in past.outcomes:
        action = outcome.action
        change = "—" if outcome.effect is None else f"×{_ratio(outcome.effect)}"
        if outcome.ci is not None:
            change += f" ({_ratio(outcome.ci[0])}–{_ratio(outcome.ci[1])})"
        p = "—" if outcome.p is None else f"{outcome.p:.2g}"
        q = "—" if outcome.q is None else f"{outcome.q:.2g}"
        out.append(
            f"| **{outcome.verdict.value}** | {_cell(action.title)} (from {_cell(action.incident)}) | "
            f"{action.metric} on {_cell(action.service or '—')} | {action.done_at:%Y-%m-%d} | {change} | {p} | {q} |"
        )
    for action in past.unmeasured:
        out.append(
            f"| not measured | {_cell(action.title)} (from {_cell(action.incident)}) | "
            f"{_cell(action.metric or 'none')}: not an outcome metric | {action.done_at:%Y-%m-%d} | — | — | — |"
        )
    out.append("")
    out += [f"- {_cell(o.action.title)}: {o.reason}" for o in past.outcomes]
    return [*out, ""]


def render_markdown(retro: Retro) -> str:
    out = _heading_lines(retro)
    out += _summary_lines(retro)
    out += _timeline_lines(retro)
    out += ["## Contributing conditions", ""]
    out += _lines_for_factors(retro)
    out += [f"## Actions (prioritised by {retro.scoring_model or 'no model'})", ""]
    if retro.actions:
        out += _lines_for_actions(retro.actions, retro.factors)
    else:
        out.append("No actions were proposed.")
    out.append("")
    out += _past_action_lines(retro)
    if retro.findings:
        out += ["## Review findings", ""]
        out += [f"- ⚠ `{f.rule}`: {f.message} Suggestion: {f.suggestion}" for f in retro.findings]
        out.append("")
    if retro.gaps:
        out += ["## Data gaps", "", "What retroflow could not see; conclusions above may miss it.", ""]
        out += [f"- **{g.plugin}** ({g.stage}, {g.kind}): {g.reason}" for g in retro.gaps]
        out.append("")
    return "\n".join(out)


def _heading_lines(retro: Retro) -> list[str]:
    """The title, the incident's facts, the timeline owner and the links."""
    incident = retro.incident
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
    return out


def _summary_lines(retro: Retro) -> list[str]:
    """The durations and the key moments, as two tables."""
    moments = retro.timeline.moments
    out = ["## Summary", "", "| Measure | Value |", "|---|---|"]
    out += [f"| {label} | {text} |" for label, text in texts.labelled_durations(moments)]
    out += ["", "| Moment | Time (UTC) |", "|---|---|"]
    out += [f"| {label} | {texts.moment_time(at)} |" for label, at in texts.labelled_moments(moments)]
    return [*out, ""]


def _timeline_lines(retro: Retro) -> list[str]:
    """The condensed timeline, the date shown where a day begins."""
    events = retro.timeline.events
    out = [f"## Timeline (UTC, {len(events):,} events)", ""]
    if not events:
        return [*out, "No events were collected.", ""]
    day = None
    out += ["| Time | What happened |", "|---|---|"]
    for row in condense(events):
        label = row.label()
        if row.start.date() != day:
            day = row.start.date()
            label = f"{day.isoformat()} {label}"
        out.append(f"| {label} | {_cell(_row_text(row))} |")
    return [*out, ""]


class MarkdownRenderer:
    name = "markdown"
    extension = "md"

    def render(self, retro: Retro) -> str:
        return render_markdown(retro)


@hookimpl(trylast=True)
def retroflow_register_renderers(register: Callable[[Renderer], None]) -> None:
    register(MarkdownRenderer())
