"""What a Jira ticket says about an action: summary, description (wiki markup), priority.

Jira API v2 takes the description as a string in Jira wiki markup (v3 would need Atlassian
Document Format); v2 works on Cloud and on Server/Data Center alike.
"""

from __future__ import annotations

import re

from retroflow import ActionItem, Factor, Retro, TicketDraft, format_timestamp

#: Jira refuses summaries longer than 255 characters.
SUMMARY_LIMIT = 255
#: Evidence events listed per factor (the rest are counted), as in the other sinks.
EVIDENCE_LIMIT = 10

#: Score thresholds (``impact-math`` values run from about 0.33 to 9) → priority names,
#: checked in order; below the last threshold: the last name.
PRIORITY_THRESHOLDS: tuple[tuple[float, str], ...] = ((6.0, "Highest"), (3.0, "High"), (1.5, "Medium"))
LOWEST_PRIORITY = "Low"

# Characters that start wiki markup in running text (macros, links, tables, bold, italics).
_WIKI_SPECIAL = re.compile(r"([{}\[\]|*_])")


def summary(action: ActionItem) -> str:
    title = " ".join(action.title.split())
    return title if len(title) <= SUMMARY_LIMIT else title[: SUMMARY_LIMIT - 1] + "…"


def priority_name(action: ActionItem) -> str | None:
    """The Jira priority for the action's score, or ``None`` when it has no score."""
    if action.score is None:
        return None
    for threshold, name in PRIORITY_THRESHOLDS:
        if action.score.value >= threshold:
            return name
    return LOWEST_PRIORITY


def idempotency_label(key: str) -> str:
    """The label a ticket carries so ``find(key)`` can search for it: the key, prefixed
    with ``retroflow-`` unless it already is (labels may not contain spaces)."""
    label = re.sub(r"\s+", "-", key.strip())
    return label if label.startswith("retroflow-") else "retroflow-" + label


def _plain(text: str) -> str:
    """Text with wiki markup characters escaped, so action text cannot turn into markup."""
    return _WIKI_SPECIAL.sub(r"\\\1", text)


def _link(title: str, url: str) -> str:
    return f"[{_plain(title)}|{url}]"


def _factors(action: ActionItem, retro: Retro) -> list[Factor]:
    by_key = {factor.key: factor for factor in retro.factors}
    return [by_key[key] for key in action.factors if key in by_key]


def description(draft: TicketDraft) -> str:
    """The ticket's description: the change, the factors it answers with their evidence,
    how to verify it, the score and why, and links back to the incident and the retro."""
    action, retro = draft.action, draft.retro
    incident = retro.incident
    lines: list[str] = []
    lines += ["h3. The change", _plain(action.change or action.title), ""]
    factors = _factors(action, retro)
    if factors:
        events = retro.timeline.by_id()
        lines.append("h3. Why: the conditions it answers")
        for factor in factors:
            lines.append(f"* *{_plain(factor.title)}* ({factor.layer}): {_plain(factor.explanation)}")
            for event_id in factor.evidence[:EVIDENCE_LIMIT]:
                event = events.get(event_id)
                if event is None:
                    lines.append(f"** evidence {{{{{event_id}}}}}")
                    continue
                text = f"{format_timestamp(event.at)} — {_plain(event.summary)}"
                lines.append(f"** {text} ({_link('source', event.link)})" if event.link else f"** {text}")
            if len(factor.evidence) > EVIDENCE_LIMIT:
                lines.append(f"** and {len(factor.evidence) - EVIDENCE_LIMIT} more events")
        lines.append("")
    if action.verify is not None:
        verify = action.verify
        target = f": target {_plain(verify.target)}" if verify.target else ""
        service = f" on {_plain(verify.service)}" if verify.service else ""
        lines += ["h3. How to verify", f"{_plain(verify.metric)}{service}{target}", ""]
    if action.score is not None:
        score = action.score
        lines += ["h3. Priority", f"Score {score.value:g} ({_plain(score.model)}): {_plain(score.explanation)}", ""]
    facts = []
    if action.category is not None:
        facts.append(f"* Category: {action.category}")
    if action.effort is not None:
        facts.append(f"* Effort: {action.effort}")
    if action.owner:
        facts.append(f"* Owner: {_plain(action.owner)}")
    if action.due is not None:
        facts.append(f"* Due: {action.due.isoformat()}")
    if facts:
        lines += ["h3. Details", *facts, ""]
    lines.append("h3. Links")
    title = f"Incident {incident.id}" + (f": {incident.title}" if incident.title else "")
    lines.append(f"* {_link(title, incident.links[0])}" if incident.links else f"* {_plain(title)}")
    if draft.retro_url:
        lines.append(f"* {_link('Retrospective', draft.retro_url)}")
    lines += ["", f"_Exported by retroflow (action {action.id}, export key {{{{{draft.key}}}}})._"]
    return "\n".join(lines)
