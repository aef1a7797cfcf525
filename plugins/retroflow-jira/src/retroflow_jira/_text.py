"""What a Jira ticket says about an action: summary, description (wiki markup), priority.

Jira API v2 takes the description as a string in Jira wiki markup (v3 would need Atlassian
Document Format); v2 works on Cloud and on Server/Data Center alike. The content is
:func:`retroflow.trackers.ticket_sections`, as every sink's, rendered by :data:`WIKI`.
"""

from __future__ import annotations

import re

from retroflow import ActionItem, TicketDraft
from retroflow.trackers import Markup, one_line, render_sections, ticket_sections
from retroflow.trackers import priority_name as _priority_name

#: Jira refuses summaries longer than 255 characters.
SUMMARY_LIMIT = 255
#: Jira priority names, by :func:`retroflow.trackers.priority_rank` (1 first).
PRIORITY_NAMES = ("Highest", "High", "Medium", "Low")


class _WikiMarkup(Markup):
    # Characters that start wiki markup in running text (macros, links, tables, bold, italics).
    _SPECIAL = re.compile(r"([{}\[\]|*_])")

    def escape(self, text: str) -> str:
        return self._SPECIAL.sub(r"\\\1", text)

    def strong(self, escaped: str) -> str:
        return f"*{escaped}*"

    def code(self, text: str) -> str:
        return f"{{{{{text}}}}}"

    def link(self, escaped: str, url: str) -> str:
        return f"[{escaped}|{url}]"

    def heading(self, title: str) -> list[str]:
        return [f"h3. {title}"]

    def item(self, text: str, depth: int) -> str:
        return "*" * depth + " " + text if depth else text


#: Jira wiki markup.
WIKI: Markup = _WikiMarkup()


def summary(action: ActionItem) -> str:
    return one_line(action.title, SUMMARY_LIMIT)


def priority_name(action: ActionItem) -> str | None:
    """The Jira priority for the action's score, or ``None`` when it has no score."""
    return _priority_name(action, PRIORITY_NAMES)


def idempotency_label(key: str) -> str:
    """The label a ticket carries so ``find(key)`` can search for it: the key, prefixed
    with ``retroflow-`` unless it already is (labels may not contain spaces)."""
    label = re.sub(r"\s+", "-", key.strip())
    return label if label.startswith("retroflow-") else "retroflow-" + label


def description(draft: TicketDraft) -> str:
    """The ticket's description: the change, the factors it answers with their evidence,
    how to verify it, the score and why, and links back to the incident and the retro."""
    lines = render_sections(ticket_sections(draft), WIKI)
    lines.append(f"_Exported by retroflow (action {draft.action.id}, export key {{{{{draft.key}}}}})._")
    return "\n".join(lines)
