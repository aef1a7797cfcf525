"""The inputs every default scoring model derives, in one place (``docs/scoring.md``).

* **Frequency**: how often this happens — from the history the sources gave (the engine
  keeps the incidents created before this one): past incidents
  on the same services whose ``details["factors"]`` include a factor the action answers
  (when the history records factors), else all past incidents on those services.
  0 → low, 1–2 → medium, 3 or more → high. ``details["frequency"]`` on the action
  (``low``/``medium``/``high``, e.g. from human input) wins.
* **Impact**: from the incident — time to resolve, from the earlier of the first fact on the
  timeline and the incident's creation (≥ ``high_impact_minutes`` high, ≥
  ``medium_impact_minutes`` medium, :class:`ImpactSettings`), a top
  urgency/severity/priority (high), several services affected (one step up).
* **Effort**: the action's effort, or ``details["effort"]``; medium when neither is given.
* **Confidence**: how strongly the evidence shows the factors the action answers (their
  strength), or ``details["confidence"]`` (0–1).

Everything is derived from the retro itself: no clock is read, so scores are repeatable.
:func:`score` makes the :class:`~retroflow.model.Score` every model returns, and
:func:`model_plugin` declares a model and its settings table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any, TypeVar

import attrs

from retroflow.default_plugins._plugin_kit import SettingsTable, scoring_model_hook
from retroflow.model import ActionItem, Score, format_duration
from retroflow.roles import ScoringContext, ScoringModel

S = TypeVar("S", bound="ImpactSettings")

LEVELS = {"low": 1, "medium": 2, "high": 3}
NAMES = {value: name for name, value in LEVELS.items()}
TOP_SEVERITIES = frozenset({"sev1", "sev-1", "sev0", "sev-0", "critical", "p1", "p0", "1", "high"})


@attrs.frozen
class ImpactSettings:
    """The impact thresholds every default model reads from its ``[plugins.<model>]`` table.

    :ivar high_impact_minutes: time to resolve from which impact is high.
    :ivar medium_impact_minutes: time to resolve from which impact is medium.
    """

    high_impact_minutes: int = 60
    medium_impact_minutes: int = 15


@attrs.frozen
class Level:
    """A level on the low/medium/high scale (1–3) and why."""

    level: int
    why: str

    @property
    def name(self) -> str:
        return NAMES[self.level]


@attrs.frozen
class Frequency(Level):
    count: int | None = None  # past incidents counted; None when given


@attrs.frozen
class Impact(Level):
    #: Long, top-severity and several services at once: beyond "high".
    massive: bool = False


@attrs.frozen
class Effort(Level):
    """The action's effort on the scale; ``why`` is ``"given"``, or ``"assumed"`` when the
    action says none."""

    def describe(self) -> str:
        return self.name + (f" ({self.why})" if self.why != "given" else "")


def frequency(action: ActionItem, context: ScoringContext) -> Frequency:
    given = action.details.get("frequency")
    if given in LEVELS:
        return Frequency(LEVELS[given], "given")
    services = set(context.incident.services)
    where = ", ".join(sorted(services)) or "these services"
    on_services = [p for p in context.history if not services or services & set(p.services)]
    recorded = [p for p in on_services if "factors" in p.details]
    if action.factors and recorded:
        answered = set(action.factors)
        count = sum(1 for p in recorded if answered & {str(k) for k in p.details.get("factors") or ()})
        why = f"{', '.join(action.factors)} in {count} of {len(recorded)} past incident(s) on {where}"
    else:
        count = len(on_services)
        why = f"{count} past incident(s) on {where}"
    level = 1 if count == 0 else 2 if count <= 2 else 3
    return Frequency(level, why, count)


def impact(context: ScoringContext, settings: ImpactSettings) -> Impact:
    reasons = []
    level = 1
    long = False
    incident = context.incident
    moments = context.timeline.moments
    end = moments.resolve or incident.resolved
    # The earlier of the first fact on the timeline and the incident's creation, before the end.
    starts = [t for t in (moments.start, incident.created) if t is not None and end is not None and t < end]
    resolve = end - min(starts) if end is not None and starts else None
    if resolve is not None:
        minutes = resolve / timedelta(minutes=1)
        if minutes >= settings.high_impact_minutes:
            level = 3
            long = True
        elif minutes >= settings.medium_impact_minutes:
            level = 2
        reasons.append(f"resolved after {format_duration(resolve)}")
    tops = [v for v in (incident.urgency, incident.severity, incident.priority) if v and v.lower() in TOP_SEVERITIES]
    if tops:
        level = 3
        reasons.append(f"{tops[0]} urgency/severity")
    several = len(incident.services) > 1
    if several:
        reasons.append(f"{len(incident.services)} services affected")
        level = min(3, level + 1)
    return Impact(level, ", ".join(reasons) or "no duration or severity known", massive=long and bool(tops) and several)


def score(model: str, value: float, inputs: Mapping[str, Any], explanation: str) -> Score:
    """The score ``model`` gives: ``value`` rounded to two places, and the explanation of the
    formula followed by the result."""
    value = round(value, 2)
    return Score(model=model, value=value, inputs=inputs, explanation=f"{explanation} = {value:g}")


def model_plugin(
    model: ScoringModel, settings_class: type[S], *, trylast: bool = False
) -> tuple[SettingsTable[S], Callable[..., None], Callable[..., None]]:
    """What a default model's module declares: its settings table, named after the model
    (``[plugins.<name>]``: the engine passes it as ``context.settings``, read back with
    ``SETTINGS.given``), and the ``retroflow_register_settings`` and
    ``retroflow_register_scoring_models`` implementations that declare the table and offer
    the model."""
    table = SettingsTable(model.name, settings_class)
    return table, table.hook(), scoring_model_hook(model, trylast=trylast)


def effort(action: ActionItem) -> Effort:
    if action.effort is not None:
        return Effort(LEVELS[action.effort.value], "given")
    given = action.details.get("effort")
    if given in LEVELS:
        return Effort(LEVELS[given], "given")
    return Effort(LEVELS["medium"], "assumed")


def confidence(action: ActionItem, context: ScoringContext) -> tuple[float, str]:
    """0.5 (low), 0.8 (medium) or 1.0 (high), and why."""
    given = action.details.get("confidence")
    if isinstance(given, int | float) and not isinstance(given, bool) and 0 < given <= 1:
        return float(given), "given"
    strengths = [f.strength for f in context.factors if f.key in action.factors]
    if not strengths:
        return 0.5, "answers no factor found in this retro"
    strongest = max(strengths)
    value = 1.0 if strongest >= 0.8 else 0.8 if strongest >= 0.5 else 0.5
    return value, f"evidence strength {strongest:g}"
