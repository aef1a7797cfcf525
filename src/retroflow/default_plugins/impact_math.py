"""Scoring model ``impact-math``: Frequency × Impact ÷ Effort on low/medium/high = 1/2/3.

* Frequency: how often incidents like this one hit the same services — past incidents in
  the history the sources gave (none → low, 1–2 → medium, 3 or more → high); an action
  may set it itself (``details["frequency"]``, e.g. from human input).
* Impact: from the incident — time to resolve (≥ 60 min high, ≥ 15 min medium), high
  urgency or a top severity/priority (high), several services affected (one step up).
* Effort: the action's effort (default medium).

A missing alert at high frequency, high impact and low effort scores 3 × 3 ÷ 1 = 9.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import attrs

from retroflow import hookimpl
from retroflow.model import ActionItem, Score
from retroflow.roles import ScoringContext

LEVELS = {"low": 1, "medium": 2, "high": 3}
NAMES = {value: name for name, value in LEVELS.items()}
TOP_SEVERITIES = frozenset({"sev1", "sev-1", "sev0", "sev-0", "critical", "p1", "p0", "1", "high"})


@attrs.frozen
class ImpactMathSettings:
    """``[plugins.impact-math]``.

    :ivar high_impact_minutes: time to resolve from which impact is high.
    :ivar medium_impact_minutes: time to resolve from which impact is medium.
    """

    high_impact_minutes: int = 60
    medium_impact_minutes: int = 15


def frequency(action: ActionItem, context: ScoringContext) -> tuple[int, str]:
    given = action.details.get("frequency")
    if given in LEVELS:
        return LEVELS[given], "given"
    services = set(context.incident.services)
    similar = [p for p in context.history if services & set(p.services)] if services else list(context.history)
    count = len(similar)
    level = 1 if count == 0 else 2 if count <= 2 else 3
    where = ", ".join(sorted(services)) or "these services"
    return level, f"{count} past incident(s) on {where}"


def impact(context: ScoringContext, settings: ImpactMathSettings) -> tuple[int, str]:
    reasons = []
    level = 1
    resolve = context.timeline.moments.durations()["resolve"]
    if resolve is None and context.incident.created and context.incident.resolved:
        resolve = context.incident.resolved - context.incident.created
    if resolve is not None:
        minutes = resolve / timedelta(minutes=1)
        if minutes >= settings.high_impact_minutes:
            level = 3
        elif minutes >= settings.medium_impact_minutes:
            level = 2
        reasons.append(f"resolved after {minutes:.0f} min")
    incident = context.incident
    tops = [v for v in (incident.urgency, incident.severity, incident.priority) if v and v.lower() in TOP_SEVERITIES]
    if tops:
        level = 3
        reasons.append(f"{tops[0]} urgency/severity")
    if len(incident.services) > 1 and level < 3:
        level += 1
        reasons.append(f"{len(incident.services)} services affected")
    return level, ", ".join(reasons) or "no duration or severity known"


class ImpactMath:
    name = "impact-math"

    def score(self, action: ActionItem, context: ScoringContext) -> Score:
        settings = context.settings if isinstance(context.settings, ImpactMathSettings) else ImpactMathSettings()
        f, f_why = frequency(action, context)
        i, i_why = impact(context, settings)
        effort_name = action.effort.value if action.effort else "medium"
        e = LEVELS[effort_name]
        value = round(f * i / e, 2)
        return Score(
            model=self.name,
            value=value,
            inputs={"frequency": NAMES[f], "impact": NAMES[i], "effort": effort_name},
            explanation=(
                f"frequency {NAMES[f]} ({f_why}) × impact {NAMES[i]} ({i_why}) ÷ effort "
                f"{effort_name}{'' if action.effort else ' (assumed)'} = {f} × {i} ÷ {e} = {value:g}"
            ),
        )


@hookimpl
def retroflow_register_settings(register: Any) -> None:
    register(ImpactMath.name, ImpactMathSettings)


@hookimpl(trylast=True)
def retroflow_register_scoring_models(register: Any) -> None:
    register(ImpactMath())
