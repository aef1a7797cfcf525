"""``[plugins.outcomes]``: how verdicts are reached (windows, bands, thresholds)."""

from __future__ import annotations

from typing import Any

import attrs

from retroflow.config import Config, at_least_one, not_negative

__all__ = ["TABLE", "OutcomeSettings", "outcome_settings"]

#: The settings table's name.
TABLE = "outcomes"


def _fraction(instance: Any, attribute: attrs.Attribute[Any], value: float) -> None:
    if not 0 < value < 1:
        raise ValueError(f"{attribute.name} must be between 0 and 1 (exclusive), got {value}")


@attrs.frozen
class OutcomeSettings:
    """``[plugins.outcomes]``.

    :ivar window_days: days before an action's ``done_at``, and after it once settled,
        that are compared (``--window`` wins).
    :ivar settle_days: days after ``done_at`` left out before the after window starts (the
        change rolling out).
    :ivar equivalence: the band around "no change": ``no-change`` only when the whole
        interval sits within ``1 ± equivalence`` times the before value.
    :ivar confidence: the confidence level of intervals; a change is significant only when
        its interval leaves out 1.
    :ivar fdr: the Benjamini–Hochberg q a significant change must also reach, across the
        actions evaluated together.
    :ivar min_durations: a ratio of medians is computed only with at least this many
        durations on each side (fewer: ``inconclusive``; a bootstrap of a handful of
        values gives intervals far too narrow).
    :ivar resamples: bootstrap resamples for a ratio of medians.
    :ivar seed: the bootstrap's seed (mixed with each action's id: the same data give the
        same intervals on every run).
    """

    window_days: int = attrs.field(default=90, validator=at_least_one)
    settle_days: int = attrs.field(default=7, validator=not_negative)
    equivalence: float = attrs.field(default=0.2, validator=_fraction)
    confidence: float = attrs.field(default=0.95, validator=_fraction)
    fdr: float = attrs.field(default=0.1, validator=_fraction)
    min_durations: int = attrs.field(default=10, validator=at_least_one)
    resamples: int = attrs.field(default=2000, validator=at_least_one)
    seed: int = 0


def outcome_settings(config: Config) -> OutcomeSettings:
    """The validated ``[plugins.outcomes]`` table, or the defaults."""
    return config.settings_for(TABLE, OutcomeSettings) or OutcomeSettings()
