"""Ticket content every tracker sink writes: the priority an action's score maps to, and the
ticket's sections (why, evidence, how to verify, priority, details, links) rendered in the
tracker's markup. Exported by :mod:`retroflow.trackers` (import it from there), which
imports this module when a sink first writes a ticket, not when it loads.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, TypeVar

if TYPE_CHECKING:
    from retroflow.model import ActionItem, Factor, Retro
    from retroflow.roles import TicketDraft

__all__ = [
    "EVIDENCE_LIMIT",
    "MARKDOWN",
    "PRIORITY_THRESHOLDS",
    "Line",
    "Markup",
    "Section",
    "Span",
    "action_factors",
    "one_line",
    "priority_name",
    "priority_rank",
    "render_sections",
    "ticket_sections",
]

T = TypeVar("T")

#: Evidence events listed per factor in a ticket (the rest are counted).
EVIDENCE_LIMIT = 10
#: Score thresholds (``impact-math`` values run from about 0.33 to 9), checked in order:
#: a score at or above the n-th threshold has priority rank n (1 is the most urgent); below
#: the last one, ``len(PRIORITY_THRESHOLDS) + 1``.
PRIORITY_THRESHOLDS: tuple[float, ...] = (6.0, 3.0, 1.5)


def priority_rank(action: ActionItem) -> int | None:
    """The priority rank of the action's score: 1 (most urgent) to
    ``len(PRIORITY_THRESHOLDS) + 1``, or ``None`` when it has no score."""
    if action.score is None:
        return None
    for rank, threshold in enumerate(PRIORITY_THRESHOLDS, start=1):
        if action.score.value >= threshold:
            return rank
    return len(PRIORITY_THRESHOLDS) + 1


def priority_name(action: ActionItem, names: Sequence[T]) -> T | None:
    """The tracker's name for the action's :func:`priority_rank`: ``names[rank - 1]``
    (``names`` most urgent first, one per rank), or ``None`` when it has no score."""
    rank = priority_rank(action)
    return None if rank is None else names[rank - 1]


def one_line(text: str, limit: int) -> str:
    """``text`` on one line (whitespace runs become one space), cut to ``limit``
    characters with an ellipsis."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def action_factors(action: ActionItem, retro: Retro) -> list[Factor]:
    """The retro's factors the action answers, in the action's order."""
    by_key = {factor.key: factor for factor in retro.factors}
    return [by_key[key] for key in action.factors if key in by_key]


@dataclass(frozen=True)
class Span:
    """A run of text in a ticket line.

    ``kind``: ``"text"`` (from the retro: the markup escapes it), ``"raw"`` (written as
    is: fixed words, times, numbers), ``"strong"`` (escaped, emphasised), ``"code"`` (an
    id, as code) or ``"link"`` (escaped text linking to ``url``).
    """

    text: str
    kind: Literal["text", "raw", "strong", "code", "link"] = "text"
    url: str = ""


@dataclass(frozen=True)
class Line:
    """A line of a section: a paragraph (``depth`` 0) or a list item (1, nested: 2)."""

    spans: tuple[Span, ...]
    depth: int = 0


@dataclass(frozen=True)
class Section:
    """A titled part of a ticket's description."""

    title: str
    lines: tuple[Line, ...]


def _raw(text: str) -> Span:
    return Span(text, "raw")


def ticket_sections(draft: TicketDraft, *, priority: str | None = None) -> list[Section]:
    """What every sink's ticket says, independent of markup: the change, the factors it
    answers with their evidence (at most :data:`EVIDENCE_LIMIT` events each), how to verify
    it, the score and why, the details (category, effort, owner, due date), and links to
    the incident and the retro.

    ``priority``: the tracker's name for the action's priority, to lead the priority line
    with; without it the line starts with "Score".
    """
    action = draft.action
    sections = [
        Section("The change", (Line((Span(action.change or action.title),)),)),
        _why_section(action, draft.retro),
        _verify_section(action),
        _priority_section(action, priority),
        _details_section(action),
    ]
    return [section for section in sections if section is not None] + [_links_section(draft)]


def _why_section(action: ActionItem, retro: Retro) -> Section | None:
    factors = action_factors(action, retro)
    if not factors:
        return None
    lines: list[Line] = []
    for factor in factors:
        lines.append(
            Line((Span(factor.title, "strong"), _raw(f" ({factor.layer}): "), Span(factor.explanation)), depth=1)
        )
        lines += _evidence_lines(factor, retro)
    return Section("Why: the conditions it answers", tuple(lines))


def _evidence_lines(factor: Factor, retro: Retro) -> list[Line]:
    """A factor's evidence events, at most :data:`EVIDENCE_LIMIT` (the rest counted)."""
    from retroflow.model import format_timestamp

    events = retro.timeline.index
    lines: list[Line] = []
    for event_id in factor.evidence[:EVIDENCE_LIMIT]:
        event = events.get(event_id)
        if event is None:
            lines.append(Line((_raw("evidence "), Span(event_id, "code")), depth=2))
            continue
        spans = [_raw(f"{format_timestamp(event.at)} — "), Span(event.summary)]
        if event.link:
            spans += [_raw(" ("), Span("source", "link", event.link), _raw(")")]
        lines.append(Line(tuple(spans), depth=2))
    if len(factor.evidence) > EVIDENCE_LIMIT:
        lines.append(Line((_raw(f"and {len(factor.evidence) - EVIDENCE_LIMIT} more events"),), depth=2))
    return lines


def _verify_section(action: ActionItem) -> Section | None:
    verify = action.verify
    if verify is None:
        return None
    spans = [Span(verify.metric)]
    if verify.service:
        spans += [_raw(" on "), Span(verify.service)]
    if verify.target:
        spans += [_raw(": target "), Span(verify.target)]
    return Section("How to verify", (Line(tuple(spans)),))


def _priority_section(action: ActionItem, priority: str | None) -> Section | None:
    score = action.score
    if score is None:
        return None
    lead = (
        [Span(priority, "strong"), _raw(f" — score {score.value:g} (")]
        if priority
        else [_raw(f"Score {score.value:g} (")]
    )
    spans = [*lead, Span(score.model), _raw("): "), Span(score.explanation)]
    return Section("Priority", (Line(tuple(spans)),))


def _details_section(action: ActionItem) -> Section | None:
    facts: list[Line] = []
    if action.category is not None:
        facts.append(Line((_raw(f"Category: {action.category}"),), depth=1))
    if action.effort is not None:
        facts.append(Line((_raw(f"Effort: {action.effort}"),), depth=1))
    if action.owner:
        facts.append(Line((_raw("Owner: "), Span(action.owner)), depth=1))
    if action.due is not None:
        facts.append(Line((_raw(f"Due: {action.due.isoformat()}"),), depth=1))
    return Section("Details", tuple(facts)) if facts else None


def _links_section(draft: TicketDraft) -> Section:
    incident = draft.retro.incident
    name = f"Incident {incident.id}" + (f": {incident.title}" if incident.title else "")
    links = [Line((Span(name, "link", incident.links[0]) if incident.links else Span(name),), depth=1)]
    if draft.retro_url:
        links.append(Line((Span("Retrospective", "link", draft.retro_url),), depth=1))
    return Section("Links", tuple(links))


class Markup:
    """How a tracker writes rich text; :func:`render_sections` calls these.

    Subclass it for a markup language; :data:`MARKDOWN` is GitHub-flavoured Markdown.
    """

    def escape(self, text: str) -> str:
        """Text from the retro, escaped so it cannot turn into markup."""
        raise NotImplementedError

    def strong(self, escaped: str) -> str:
        raise NotImplementedError

    def code(self, text: str) -> str:
        raise NotImplementedError

    def link(self, escaped: str, url: str) -> str:
        raise NotImplementedError

    def heading(self, title: str) -> list[str]:
        """The lines that open a section."""
        raise NotImplementedError

    def item(self, text: str, depth: int) -> str:
        """A line at ``depth``: 0 a paragraph, 1 a list item, 2 a nested one."""
        raise NotImplementedError

    def span(self, span: Span) -> str:
        if span.kind == "raw":
            return span.text
        if span.kind == "code":
            return self.code(span.text)
        if span.kind == "strong":
            return self.strong(self.escape(span.text))
        if span.kind == "link":
            return self.link(self.escape(span.text), span.url)
        return self.escape(span.text)


def render_sections(sections: Sequence[Section], markup: Markup) -> list[str]:
    """The lines of ``sections`` in ``markup``, each section followed by a blank line."""
    lines: list[str] = []
    for section in sections:
        lines += markup.heading(section.title)
        lines += [markup.item("".join(markup.span(s) for s in line.spans), line.depth) for line in section.lines]
        lines.append("")
    return lines


class _Markdown(Markup):
    _SPECIAL = re.compile(r"([\\`*_\[\]<>#|])")

    def escape(self, text: str) -> str:
        """Markdown and HTML characters escaped, whitespace runs made one space (so retro
        text can neither become markup nor close an HTML comment)."""
        return self._SPECIAL.sub(r"\\\1", " ".join(text.split()))

    def strong(self, escaped: str) -> str:
        return f"**{escaped}**"

    def code(self, text: str) -> str:
        return f"`{text}`"

    def link(self, escaped: str, url: str) -> str:
        return f"[{escaped}](<{url}>)"

    def heading(self, title: str) -> list[str]:
        return [f"### {title}", ""]

    def item(self, text: str, depth: int) -> str:
        return "  " * (depth - 1) + "- " + text if depth else text


#: GitHub-flavoured Markdown (GitHub, Linear).
MARKDOWN: Markup = _Markdown()
