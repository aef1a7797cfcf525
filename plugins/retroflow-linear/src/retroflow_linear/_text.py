"""What a Linear issue says about an action: title, Markdown description, priority, and the
issue id derived from the export key.

The content is :func:`retroflow.trackers.ticket_sections`, as every sink's.
"""

from __future__ import annotations

import hashlib
import uuid

from retroflow import ActionItem, TicketDraft
from retroflow.trackers import MARKDOWN, one_line, priority_name, priority_rank, render_sections, ticket_sections

#: Titles are cut to this length.
TITLE_LIMIT = 255
#: Linear priorities are :func:`retroflow.trackers.priority_rank`: 1 urgent, 2 high,
#: 3 medium, 4 low (0 = none, when unscored); their names, shown in the description.
PRIORITY_NAMES = ("urgent", "high", "medium", "low")


def title(action: ActionItem) -> str:
    return one_line(action.title, TITLE_LIMIT)


def priority(action: ActionItem) -> int | None:
    return priority_rank(action)


def issue_id(key: str) -> str:
    """The issue id for an export key: the same key always gives the same id, so a retried
    ``issueCreate`` collides with the issue it already made instead of making a second one.

    Linear documents ``IssueCreateInput.id`` as "in UUID v4 format", so this is a
    name-based UUID (like uuid5, but from SHA-256) with the version-4 bits set.
    """
    digest = hashlib.sha256(f"retroflow:{key}".encode()).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


def body(draft: TicketDraft) -> str:
    """The change, the factors it answers with their evidence, how to verify it, the score
    and why, and links to the incident and the retro (retro text escaped, so it cannot
    become markup)."""
    lines = render_sections(ticket_sections(draft, priority=priority_name(draft.action, PRIORITY_NAMES)), MARKDOWN)
    lines.append(f"_Exported by retroflow (action `{draft.action.id}`, export key `{draft.key}`)._")
    return "\n".join(lines)
