"""What every document says the same way: moments, durations, ties between actions'
scores, and what people said of a condition."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta

from retroflow.model import ActionItem, Event, Factor, format_duration, strongest_factor

__all__ = [
    "DURATION_LABELS",
    "MOMENT_LABELS",
    "TIE_RULE",
    "human_duration",
    "names_actor",
    "tie_notes",
    "verdict",
]

MOMENT_LABELS = {
    "first_signal": "First signal",
    "first_alert": "First alert",
    "first_page": "First page",
    "first_ack": "First acknowledgement",
    "mitigation": "Mitigated",
    "resolve": "Resolved",
}
DURATION_LABELS = {
    "detect": "Time to detect (first signal → alert or page)",
    "acknowledge": "Time to acknowledge (page → ack)",
    "mitigate": "Time to mitigate (start → mitigation)",
    "resolve": "Time to resolve (start → resolution)",
}


def human_duration(value: timedelta | None) -> str:
    """A duration as every retroflow text writes it (:func:`format_duration`); ``—`` if unknown."""
    return "—" if value is None else format_duration(value)


def names_actor(event: Event) -> bool:
    """Whether ``event``'s summary already names its actor ("Acknowledged by bob"): a
    document then does not name the person a second time."""
    return bool(event.actor and re.search(rf"(?<!\w){re.escape(event.actor)}(?!\w)", event.summary))


#: Said under the actions table when two actions have the same score.
TIE_RULE = (
    "Actions with the same score are ranked by the strength of the strongest condition they answer "
    "(0 to 1, as the heuristic that found it rated it), then by title."
)


def tie_notes(
    actions: Sequence[ActionItem], factors: Sequence[Factor], code: Callable[[str], str] = lambda key: f"`{key}`"
) -> dict[int, str]:
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
            answers = f"answers {code(factor[0])}, strength {factor[1]:g}" if factor else "answers no condition"
            same = [f"#{p + 1}" for p in positions if p != position and level[p] == level[position]]
            if same:
                answers += f" (as strong as {', '.join(same)}: ordered by title)"
            notes[position] = f"tied at {score:g} with {others}; {answers}"
    return notes


def verdict(factor: Factor) -> str:
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
