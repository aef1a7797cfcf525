"""A wait from one event to another against a threshold: what the heuristics about waiting
(``detection-gap``, ``slow-acknowledgement``, ``late-escalation``) measure alike.

A wait longer than its threshold is a factor whose evidence is the two events, whose
strength reaches certain at three times the threshold, and whose details start with the
minutes waited and the threshold (:meth:`Wait.factor`).
"""

from __future__ import annotations

from typing import Any

import attrs

from retroflow.default_plugins._plugin_kit import minutes_of, minutes_text, strength
from retroflow.default_plugins.conditions.facts import cite, minutes
from retroflow.model import Event, Factor, Layer, format_duration


@attrs.frozen
class Wait:
    """``start`` waited for ``end``; ``threshold_minutes`` is how long is still fine."""

    start: Event
    end: Event
    threshold_minutes: int

    @property
    def too_long(self) -> bool:
        return minutes(self.start.at, self.end.at) > self.threshold_minutes

    @property
    def took(self) -> str:
        """How long it took, as every duration is written."""
        return format_duration(self.end.at - self.start.at)

    @property
    def threshold(self) -> str:
        """The threshold as the factors' explanations name it."""
        return f"threshold {minutes_text(self.threshold_minutes)}"

    def factor(self, key: str, layer: Layer, *, title: str, explanation: str, **details: Any) -> Factor:
        """The factor this wait is, with ``details`` after the minutes and the threshold."""
        return Factor(
            key=key,
            layer=layer,
            title=title,
            explanation=explanation,
            evidence=cite([self.start, self.end]),
            strength=strength(minutes(self.start.at, self.end.at) / (3 * self.threshold_minutes)),
            details={
                "minutes": minutes_of(self.end.at - self.start.at),
                "threshold_minutes": self.threshold_minutes,
                **details,
            },
        )
