"""What a Linear issue says about an action: title, Markdown description, priority, and the
issue id derived from the export key."""

from __future__ import annotations

import hashlib
import re
import uuid

from retroflow import ActionItem, Factor, Retro, TicketDraft, format_timestamp

#: Titles are cut to this length.
TITLE_LIMIT = 255
#: Evidence events listed per factor (the rest are counted).
EVIDENCE_LIMIT = 10
#: Score thresholds (``impact-math`` values run from about 0.33 to 9), the same as the other
#: sinks, to Linear priorities: 1 urgent, 2 high, 3 medium, 4 low (0 = none, when unscored).
PRIORITY_THRESHOLDS: tuple[tuple[float, int], ...] = ((6.0, 1), (3.0, 2), (1.5, 3))
LOWEST_PRIORITY = 4
PRIORITY_NAMES = {1: "urgent", 2: "high", 3: "medium", 4: "low"}

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>#|])")


def title(action: ActionItem) -> str:
    text = " ".join(action.title.split())
    return text if len(text) <= TITLE_LIMIT else text[: TITLE_LIMIT - 1] + "…"


def priority(action: ActionItem) -> int | None:
    if action.score is None:
        return None
    for threshold, value in PRIORITY_THRESHOLDS:
        if action.score.value >= threshold:
            return value
    return LOWEST_PRIORITY


def issue_id(key: str) -> str:
    """The issue id for an export key: the same key always gives the same id, so a retried
    ``issueCreate`` collides with the issue it already made instead of making a second one.

    Linear documents ``IssueCreateInput.id`` as "in UUID v4 format", so this is a
    name-based UUID (like uuid5, but from SHA-256) with the version-4 bits set.
    """
    digest = hashlib.sha256(f"retroflow:{key}".encode()).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


def _plain(text: str) -> str:
    """Text with Markdown and HTML characters escaped, so action text cannot become markup."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def _link(text: str, url: str) -> str:
    return f"[{_plain(text)}](<{url}>)"


def _factors(action: ActionItem, retro: Retro) -> list[Factor]:
    by_key = {factor.key: factor for factor in retro.factors}
    return [by_key[key] for key in action.factors if key in by_key]


def body(draft: TicketDraft) -> str:
    """The change, the factors it answers with their evidence, how to verify it, the score
    and why, and links to the incident and the retro."""
    action, retro = draft.action, draft.retro
    incident = retro.incident
    lines: list[str] = ["### The change", "", _plain(action.change or action.title), ""]
    factors = _factors(action, retro)
    if factors:
        events = retro.timeline.by_id()
        lines += ["### Why: the conditions it answers", ""]
        for factor in factors:
            lines.append(f"- **{_plain(factor.title)}** ({factor.layer}): {_plain(factor.explanation)}")
            for event_id in factor.evidence[:EVIDENCE_LIMIT]:
                event = events.get(event_id)
                if event is None:
                    lines.append(f"  - evidence `{event_id}`")
                    continue
                text = f"{format_timestamp(event.at)} — {_plain(event.summary)}"
                lines.append(f"  - {text} ({_link('source', event.link)})" if event.link else f"  - {text}")
            if len(factor.evidence) > EVIDENCE_LIMIT:
                lines.append(f"  - and {len(factor.evidence) - EVIDENCE_LIMIT} more events")
        lines.append("")
    if action.verify is not None:
        verify = action.verify
        service = f" on {_plain(verify.service)}" if verify.service else ""
        target = f": target {_plain(verify.target)}" if verify.target else ""
        lines += ["### How to verify", "", f"{_plain(verify.metric)}{service}{target}", ""]
    if action.score is not None:
        score = action.score
        lines += [
            "### Priority",
            "",
            f"**{PRIORITY_NAMES[priority(action) or LOWEST_PRIORITY]}** — score {score.value:g} ({_plain(score.model)}): {_plain(score.explanation)}",
            "",
        ]
    facts = []
    if action.category is not None:
        facts.append(f"- Category: {action.category}")
    if action.effort is not None:
        facts.append(f"- Effort: {action.effort}")
    if action.owner:
        facts.append(f"- Owner: {_plain(action.owner)}")
    if action.due is not None:
        facts.append(f"- Due: {action.due.isoformat()}")
    if facts:
        lines += ["### Details", "", *facts, ""]
    lines += ["### Links", ""]
    name = f"Incident {incident.id}" + (f": {incident.title}" if incident.title else "")
    lines.append(f"- {_link(name, incident.links[0])}" if incident.links else f"- {_plain(name)}")
    if draft.retro_url:
        lines.append(f"- {_link('Retrospective', draft.retro_url)}")
    lines += ["", f"_Exported by retroflow (action `{action.id}`, export key `{draft.key}`)._"]
    return "\n".join(lines)
