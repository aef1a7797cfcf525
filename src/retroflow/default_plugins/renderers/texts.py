"""What every document says the same way: moments, durations, who did what, the conditions
by layer, ties between actions' scores, and what people said of a condition."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta

from retroflow.model import (
    LAYER_ORDER,
    ActionItem,
    Event,
    Factor,
    Layer,
    Moments,
    format_duration,
    strongest_factor,
)

__all__ = [
    "DURATION_LABELS",
    "MOMENT_LABELS",
    "TIE_RULE",
    "actor_to_name",
    "factors_by_layer",
    "human_duration",
    "labelled_durations",
    "labelled_moments",
    "moment_time",
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


def moment_time(at: datetime | None) -> str:
    """A key moment's date and time (UTC) as documents show it; ``—`` if no event shows it."""
    return at.strftime("%Y-%m-%d %H:%M:%S") if at else "—"


def labelled_moments(moments: Moments) -> list[tuple[str, datetime | None]]:
    """The key moments in their order, each with its label."""
    return [(label, getattr(moments, name)) for name, label in MOMENT_LABELS.items()]


def labelled_durations(moments: Moments) -> list[tuple[str, str]]:
    """The durations between the key moments, each with its label, written out."""
    return [(DURATION_LABELS[name], human_duration(value)) for name, value in moments.durations().items()]


def actor_to_name(event: Event) -> str | None:
    """The actor a document names after ``event``'s summary: none when its summary already
    names them ("Acknowledged by bob", not "Acknowledged by bob (bob)")."""
    actor = event.actor
    if actor and re.search(rf"(?<!\w){re.escape(actor)}(?!\w)", event.summary):
        return None
    return actor or None


def factors_by_layer(factors: Sequence[Factor]) -> list[tuple[str, list[Factor]]]:
    """The conditions under the heading of their layer, layers in their order (technical,
    human, process), a layer without any left out."""
    by_layer = {layer: [f for f in factors if f.layer is layer] for layer in sorted(Layer, key=LAYER_ORDER.__getitem__)}
    return [(layer.value.capitalize(), found) for layer, found in by_layer.items() if found]


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
