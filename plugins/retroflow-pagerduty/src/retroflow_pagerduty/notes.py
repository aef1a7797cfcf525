"""A note on the PagerDuty incident when its draft retro is stored (``[service]
pagerduty_note = true``): the retro's link and its timeline owner, where responders look.

``POST /incidents/{id}/notes`` needs a ``From`` header: ``[plugins.pagerduty]
from_email``. The note carries a marker naming the retro version; before adding one, the
incident's notes are read, and a note of that version already there is not added again
(the draft job may run again after a crash, or after another plugin's notification
failed). The POST itself is sent once: a failure fails the job's attempt, and the next
attempt reads the notes first.
"""

from __future__ import annotations

from typing import Any

import pagerduty

from retroflow import DraftedRetro, SourceError

from .api import PagerDutyApi, _error_message
from .settings import PagerDutySettings

__all__ = ["add_note", "marker", "note_text"]


def marker(draft: DraftedRetro) -> str:
    """What a note of this draft starts with."""
    return f"[retroflow] Draft retro v{draft.version} "


def note_text(draft: DraftedRetro) -> str:
    """The note: where the draft is, and who reconstructs the timeline."""
    title = draft.retro.incident.title or draft.incident_id
    where = draft.url or f"stored: retroflow show {draft.retro.incident.id}"
    owner = draft.retro.timeline_owner
    lines = [f"{marker(draft)}of “{title}”: {where}"]
    if owner is not None:
        lines.append(
            f"Timeline owner: {owner.name} ({owner.reason}). Please reconstruct the timeline before the review."
        )
    else:
        lines.append("Timeline owner: nobody acknowledged, so none was chosen; pick one before the review.")
    return "\n".join(lines)


def _check(settings: PagerDutySettings | None) -> PagerDutySettings:
    if settings is None or settings.token is None:
        raise SourceError("[service] pagerduty_note needs [plugins.pagerduty] token")
    if not settings.from_email:
        raise SourceError(
            "[service] pagerduty_note needs [plugins.pagerduty] from_email (the From header PagerDuty requires "
            "to add a note: the email of a user of the account)"
        )
    return settings


def add_note(settings: PagerDutySettings | None, draft: DraftedRetro, *, api: Any) -> bool:
    """Add the draft's note to its incident; ``False`` when it is there already.

    :param api: ``(settings) -> PagerDutyApi``.
    """
    client: PagerDutyApi = api(_check(settings))
    path = f"/incidents/{draft.incident_id}/notes"
    try:
        notes = client.get(path, what=f"notes of incident {draft.incident_id}").get("notes")
        start = marker(draft)
        if isinstance(notes, list) and any(
            isinstance(n, dict) and str(n.get("content", "")).startswith(start) for n in notes
        ):
            return False
        try:
            response = client._client.post(path, json={"note": {"content": note_text(draft)}})
        except pagerduty.HttpError as exc:  # 401: its message holds part of the key
            status = exc.response.status_code if exc.response is not None else 401
            raise SourceError(f"PagerDuty refused the note on incident {draft.incident_id} (HTTP {status})") from None
        except pagerduty.Error as exc:
            cause = type(exc.__cause__ or exc).__name__
            raise SourceError(f"PagerDuty unreachable adding the note to {draft.incident_id} ({cause})") from None
        if response.status_code >= 300:
            message = _error_message(response)
            raise SourceError(
                f"PagerDuty refused the note on incident {draft.incident_id} (HTTP {response.status_code})"
                + (f": {message}" if message else "")
            )
        return True
    finally:
        client.close()
