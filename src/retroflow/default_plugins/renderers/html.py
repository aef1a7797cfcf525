"""Renderer ``html``: one self-contained page to read in the review meeting or attach to a
ticket.

No script, font or image is fetched from anywhere: the styles are inline, the timeline
chart is inline SVG (:mod:`~retroflow.default_plugins.renderers.timeline_chart`), and
the only URLs are the links in the data. Light and dark follow the reader's system;
printing drops the navigation. The same retro (and settings, and ticket states) gives the
same bytes.

The templates (Jinja2, autoescaped) live in ``retroflow/templates``: ``base.html.j2`` is the
page shell with the styles, ``report.html.j2`` the report, in named blocks that other pages
(``retroflow serve``) extend.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import attrs
from markupsafe import Markup

import retroflow
from retroflow import hookimpl
from retroflow.config import Config
from retroflow.default_plugins.renderers import texts
from retroflow.default_plugins.renderers.condense import PER_ROW, Row, condense, row_finder
from retroflow.default_plugins.renderers.timeline_chart import LANES, timeline_svg
from retroflow.default_plugins.review.action_review import TOO_MANY_ACTIONS
from retroflow.model import Event, EventKind, Outcome, PastActions, Retro
from retroflow.narrative import LEAD
from retroflow.roles import TicketRef, TicketStatus

if TYPE_CHECKING:
    import jinja2

    from retroflow.roles import Renderer

__all__ = [
    "TABLE",
    "HtmlRenderer",
    "HtmlSettings",
    "Tickets",
    "render_html",
    "report_context",
    "template_environment",
    "tickets_of",
]

#: The settings table: ``[plugins.html]``.
TABLE = "html"


@attrs.frozen
class HtmlSettings:
    """``[plugins.html]``: the review meeting the report proposes.

    :ivar invite: roles to invite beyond the engineers who responded (product, support,
        SRE, ...), listed in the agenda.
    :ivar timeline_owner: who walks the meeting through the timeline; unset, the first
        person who acknowledged a page.
    """

    invite: list[str] = attrs.field(factory=lambda: ["product", "support", "SRE"])
    timeline_owner: str | None = None


@functools.cache
def template_environment() -> jinja2.Environment:
    """The Jinja2 environment of retroflow's pages: templates from the package,
    autoescaping on, undefined names an error. Jinja2 is imported here: every command
    loads this renderer, and most never render HTML."""
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("retroflow", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def row_anchor(at: datetime) -> str:
    """The id of the condensed-timeline row that starts at ``at`` (UTC minute)."""
    return "t-" + at.strftime("%Y%m%dT%H%M")


def factor_anchor(key: str) -> str:
    return "f-" + re.sub(r"[^A-Za-z0-9_-]", "-", key)


def action_anchor(action_id: str) -> str:
    return "a-" + re.sub(r"[^A-Za-z0-9_-]", "-", action_id)


@attrs.frozen
class Said:
    """One event as a row of the report names it."""

    event: Event
    actor: str | None  # the actor, when the summary does not name them already


@attrs.frozen
class TableRow:
    anchor: str
    label: str
    said: tuple[Said, ...]
    more: int
    signals: int
    by_service: tuple[tuple[str, int], ...]
    example: str


def _table_rows(rows: Sequence[Row]) -> list[TableRow]:
    out = []
    day = None
    for row in rows:
        label = row.label()
        if row.start.date() != day:
            day = row.start.date()
            label = f"{day.isoformat()} {label}"
        said = tuple(Said(e, texts.actor_to_name(e)) for e in row.shown)
        out.append(
            TableRow(
                anchor=row_anchor(row.start),
                label=label,
                said=said,
                more=row.more,
                signals=row.signal_total,
                by_service=tuple(row.signals_by_service()),
                example=row.first_signal,
            )
        )
    return out


def _anchor_of(rows: Sequence[Row]) -> Callable[[datetime], str]:
    """The anchor of the row holding an event at a given time (the timeline section when
    there are no rows: a resolution time known without any event)."""
    if not rows:
        return lambda at: "timeline"
    find = row_finder(rows)
    return lambda at: row_anchor(rows[max(0, find(at))].start)


@attrs.frozen
class AgendaItem:
    minutes: int
    start: int  # minutes from the meeting's start
    title: str
    lead: str
    about: str


#: The standing question of every review (the method's close-the-loop step).
PAST_ACTIONS_QUESTION = "Which past retro actions measurably improved the system?"


def timeline_owner(retro: Retro, settings: HtmlSettings) -> str | None:
    """Who walks the meeting through the timeline: the configured owner, else the first
    person who acknowledged a page (``None``: nobody did)."""
    if settings.timeline_owner:
        return settings.timeline_owner
    return next((e.actor for e in retro.timeline.events if e.kind is EventKind.ACK and e.actor), None)


_NOT_PEOPLE = frozenset({EventKind.SIGNAL, EventKind.ALERT})


def participants(retro: Retro) -> list[str]:
    """The people the timeline shows taking part, in order of first appearance (actors of
    everything but signals and alerts; a tool acting as itself, such as ``pagerduty``
    escalating, is not a person)."""
    seen: dict[str, None] = {}
    for event in retro.timeline.events:
        if event.actor and event.kind not in _NOT_PEOPLE and event.actor != event.source:
            seen.setdefault(event.actor, None)
    return list(seen)


#: The longest review meeting the agenda proposes, in minutes (it starts at 60).
LONGEST_MEETING = 90


def agenda(retro: Retro, rows: int, settings: HtmlSettings) -> list[AgendaItem]:
    """The review meeting: 60 minutes, growing to at most 90 with a long timeline and many
    conditions or actions (five minutes for a timeline of over 30 rows, two for each
    condition past six and each action past five, granted in that order)."""
    owner = timeline_owner(retro, settings) or "the incident commander"
    wanted = (5 if rows > 30 else 0, 2 * max(0, len(retro.factors) - 6), 2 * max(0, len(retro.actions) - 5))
    spare = LONGEST_MEETING - 60
    granted = []
    for minutes in wanted:
        granted.append(min(minutes, spare))
        spare -= granted[-1]
    timeline, conditions, actions = granted
    items = (
        (5, "Purpose and ground rules", "the facilitator",
         "Blameless: we look for the conditions that lined up, not for culprits. Read the report beforehand."),
        (20 + timeline, "Timeline walk", owner,
         "From the first signal to the resolution: what people saw, believed and decided, and why it made sense "
         "at the time. Correct the timeline where it is wrong."),
        (15 + conditions, "Contributing conditions", "the facilitator",
         "Confirm or reject each condition, with a reason; add the ones the heuristics missed."),
        (15 + actions, "Actions", "the facilitator",
         "Agree on the actions by score, each with an owner, a due date and how we will know it worked; "
         "commit to a few and park the rest explicitly."),
        (5, "Past actions", "the facilitator", PAST_ACTIONS_QUESTION),
    )  # fmt: skip
    out, start = [], 0
    for minutes, title, lead, about in items:
        out.append(AgendaItem(minutes=minutes, start=start, title=title, lead=lead, about=about))
        start += minutes
    return out


# -- tracker state ----------------------------------------------------------------------


@attrs.frozen
class Tickets:
    """The tickets of a retro's actions (action id → each tracker's ticket and state), and
    why they could not be read, if so."""

    by_action: Mapping[str, tuple[TicketStatus, ...]] = attrs.field(factory=dict)
    problem: str | None = None


def stored_tickets(config: Config, incident_id: str) -> Tickets:
    """The tickets the store knows for ``incident_id``'s actions (exported with ``retroflow
    export``, states from ``retroflow followup sync``). Reading creates nothing: no store
    yet, no tickets. A store that cannot be read is said in the report, not an error: the
    retro is still worth reading."""
    from sqlalchemy.exc import SQLAlchemyError

    from retroflow.errors import RetroflowError
    from retroflow.store import database_url, open_store
    from retroflow.store.database import NothingStored

    try:
        store = open_store(database_url(config), upgrade=False, create=False)
        try:
            return tickets_of(store.links(), incident_id)
        finally:
            store.close()
    except NothingStored:
        return Tickets()
    except (RetroflowError, SQLAlchemyError) as exc:
        return Tickets(problem=f"tracker states could not be read from the store: {exc}")


def tickets_of(links: Sequence[Any], incident_id: str) -> Tickets:
    """The tickets of ``incident_id``'s actions among the store's tracker ``links``."""
    links = [link for link in links if link.incident_id == incident_id]
    by_action: dict[str, list[TicketStatus]] = {}
    for link in links:
        ref = TicketRef(sink=link.sink, external_id=link.external_id, url=link.url, key=link.key)
        by_action.setdefault(link.action_id, []).append(TicketStatus(ref, link.state, link.state_changed_at))
    return Tickets(by_action={action: tuple(found) for action, found in by_action.items()})


# -- past actions -------------------------------------------------------------------------

#: The most before-and-after charts the past-actions section draws (the table lists all).
MOST_PAST_CHARTS = 6


def _is_duration(outcome: Outcome) -> bool:
    # A duration metric's windows hold medians (no count); a count metric's hold counts.
    return outcome.before.count is None and outcome.after.count is None


def past_action_chart(outcome: Outcome) -> str:
    """The metric of a done action over its two windows, before and after, the action
    marked: an SVG of :func:`retroflow.outcomes.plots.time_chart`."""
    from retroflow.outcomes.plots import Mark, Point, Series, duration_step, number_step, time_chart

    action = outcome.action
    duration = _is_duration(outcome)

    def shown(value: float) -> str:
        return texts.human_duration(timedelta(seconds=value)) if duration else f"{value:.2g}"

    points = [
        Point(window.start, window.end, window.value, f"{name}: " + ("no data" if window.value is None else
              f"{shown(window.value)} (n = {window.n})"))
        for name, window in (("before", outcome.before), ("after", outcome.after))
    ]  # fmt: skip
    return time_chart(
        f"{action.metric} on {action.service or 'all services'}: before and after “{action.title}”",
        [Series(action.metric, points, "bars")],
        marks=[Mark(action.done_at, f"{action.done_at:%Y-%m-%d} done: {action.title} ({outcome.verdict})")],
        format_value=shown,
        step=duration_step if duration else number_step,
    )


def past_action_charts(past: PastActions | None) -> list[Markup]:
    """Charts of the first :data:`MOST_PAST_CHARTS` measured past actions (SVG escaped by
    :mod:`retroflow.outcomes.plots`)."""
    if past is None:
        return []
    measured = [o for o in past.outcomes if o.before.value is not None or o.after.value is not None]
    return [Markup(past_action_chart(o)) for o in measured[:MOST_PAST_CHARTS]]


def ratio(value: float | None) -> str:
    if value is None:
        return "—"
    return "∞" if math.isinf(value) else f"{value:.2f}"


# -- the page ---------------------------------------------------------------------------


def report_context(retro: Retro, settings: HtmlSettings, tickets: Tickets) -> dict[str, Any]:
    """What ``report.html.j2`` is rendered with (pages that extend it add their own)."""
    events = retro.timeline.events
    rows = condense(events)
    anchor = _anchor_of(rows)
    factor_keys = {f.key for f in retro.factors}
    too_many = [f for f in retro.findings if f.rule == TOO_MANY_ACTIONS]
    meeting = agenda(retro, len(rows), settings)
    return {
        "retro": retro,
        "incident": retro.incident,
        "moments": texts.labelled_moments(retro.timeline.moments),
        "durations": texts.labelled_durations(retro.timeline.moments),
        "chart": timeline_svg(events, retro.timeline.moments, anchor),
        "lanes": LANES,
        "rows": _table_rows(rows),
        "event_count": len(events),
        "layers": texts.factors_by_layer(retro.factors),
        "narrative_lead": LEAD if retro.narrative else None,
        "evidence_shown": PER_ROW,
        "events_by_id": retro.timeline.index,
        "row_anchor": anchor,
        "factor_anchor": factor_anchor,
        "action_anchor": action_anchor,
        "factor_keys": factor_keys,
        "verdict": texts.verdict,
        "ties": texts.tie_notes(
            retro.actions, retro.factors, code=lambda key: str(Markup("<code>{}</code>").format(key))
        ),
        "tie_rule": texts.TIE_RULE,
        "too_many": too_many,
        "findings": [f for f in retro.findings if f.rule != TOO_MANY_ACTIONS],
        "tickets": tickets,
        "agenda": meeting,
        "meeting_minutes": sum(item.minutes for item in meeting),
        "timeline_owner": timeline_owner(retro, settings),
        "participants": participants(retro),
        "invite": settings.invite,
        "past_actions": retro.past_actions,
        "past_gap": any(g.stage == "outcomes" for g in retro.gaps),
        "past_charts": past_action_charts(retro.past_actions),
        "version": retroflow.__version__,
        "duration": texts.human_duration,
        "timestamp": texts.moment_time,
        "hms": lambda at: at.strftime("%H:%M:%S"),
        "Markup": Markup,
        "ratio": ratio,
    }


def render_html(retro: Retro, *, settings: HtmlSettings | None = None, tickets: Tickets | None = None) -> str:
    """The report of ``retro`` as one HTML page (``settings``: ``[plugins.html]``;
    ``tickets``: the actions' tracker states)."""
    template = template_environment().get_template("report.html.j2")
    return template.render(report_context(retro, settings or HtmlSettings(), tickets or Tickets()))


class HtmlRenderer:
    name = "html"
    extension = "html"

    def render(self, retro: Retro, config: Config | None = None) -> str:
        """The report; with ``config``, its ``[plugins.html]`` settings and the tickets the
        store knows."""
        if config is None:
            return render_html(retro)
        settings = config.settings_for(TABLE, HtmlSettings) or HtmlSettings()
        return render_html(retro, settings=settings, tickets=stored_tickets(config, retro.incident.id))


@hookimpl
def retroflow_register_settings(register: Callable[[str, type[Any]], None]) -> None:
    register(TABLE, HtmlSettings)


@hookimpl(trylast=True)
def retroflow_register_renderers(register: Callable[[Renderer], None]) -> None:
    register(HtmlRenderer())
