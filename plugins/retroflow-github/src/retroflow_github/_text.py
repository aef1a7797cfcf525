"""What a GitHub issue says about an action: title and Markdown body with the key marker.

The content is :func:`retroflow.trackers.ticket_sections`, as every sink's; this module adds
GitHub's title limit, priority names and the hidden key marker.
"""

from __future__ import annotations

from retroflow import ActionItem, TicketDraft
from retroflow.trackers import MARKDOWN, one_line, render_sections, ticket_sections
from retroflow.trackers import priority_name as _priority_name

#: GitHub refuses titles longer than 256 characters.
TITLE_LIMIT = 256
#: Priority names shown in the body, by :func:`retroflow.trackers.priority_rank` (1 first).
PRIORITY_NAMES = ("highest", "high", "medium", "low")


def title(action: ActionItem) -> str:
    return one_line(action.title, TITLE_LIMIT)


def priority_name(action: ActionItem) -> str | None:
    return _priority_name(action, PRIORITY_NAMES)


def marker(key: str) -> str:
    """The hidden line that carries the idempotency key in the body."""
    return f"<!-- retroflow:{key} -->"


def has_marker(body: object, key: str) -> bool:
    return isinstance(body, str) and marker(key) in body


def body(draft: TicketDraft) -> str:
    """The change, the factors it answers with their evidence, how to verify it, the score
    and why, links to the incident and the retro, and the key marker. Retro text is escaped
    (:data:`retroflow.trackers.MARKDOWN`), so it cannot become markup or close the marker's
    comment."""
    lines = render_sections(ticket_sections(draft, priority=priority_name(draft.action)), MARKDOWN)
    lines += [f"_Exported by retroflow (action `{draft.action.id}`, export key `{draft.key}`)._", marker(draft.key)]
    return "\n".join(lines)
