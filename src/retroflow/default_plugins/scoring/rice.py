"""Scoring model ``rice``: Reach × Impact × Confidence ÷ Effort.

* Reach: incidents the change would have touched — this one plus the similar past ones
  the frequency derivation counts (``docs/scoring.md``).
* Impact on the RICE scale: low 0.5, medium 1, high 2, massive 3 (long, top severity and
  several services at once).
* Confidence: 1.0, 0.8 or 0.5 from the strength of the evidence for the factors the action
  answers (0.5 for an action that answers none, e.g. one a person wrote).
* Effort in person-weeks: low/medium/high → ``effort_weeks`` (0.5, 2, 6 by default).
"""

from __future__ import annotations

from typing import Any

import attrs

from retroflow.default_plugins.scoring.inputs import (
    ImpactSettings,
    confidence,
    effort,
    frequency,
    impact,
    model_plugin,
    score,
)
from retroflow.model import ActionItem, Score
from retroflow.roles import ScoringContext

RICE_IMPACT = {1: 0.5, 2: 1.0, 3: 2.0}
MASSIVE = 3.0


def _three_positive(instance: Any, attribute: attrs.Attribute[Any], value: list[float]) -> None:
    if len(value) != 3 or any(v <= 0 for v in value):
        raise ValueError(f"{attribute.name} must be three positive numbers (low, medium, high), got {value}")


@attrs.frozen
class RiceSettings(ImpactSettings):
    """``[plugins.rice]``: the impact thresholds (:class:`ImpactSettings`) and the effort scale.

    :ivar effort_weeks: person-weeks for low, medium and high effort.
    """

    effort_weeks: list[float] = attrs.field(factory=lambda: [0.5, 2.0, 6.0], validator=_three_positive)


class Rice:
    name = "rice"

    def score(self, action: ActionItem, context: ScoringContext) -> Score:
        settings = SETTINGS.given(context.settings)
        f = frequency(action, context)
        reach = 1 + (f.count if f.count is not None else f.level - 1)
        i = impact(context, settings)
        rice_impact = MASSIVE if i.massive else RICE_IMPACT[i.level]
        conf, conf_why = confidence(action, context)
        e = effort(action)
        weeks = float(action.details.get("effort_weeks") or settings.effort_weeks[e.level - 1])
        return score(
            self.name,
            reach * rice_impact * conf / weeks,
            {"reach": reach, "impact": rice_impact, "confidence": conf, "effort_weeks": weeks},
            f"reach {reach} (this incident + {reach - 1} similar: {f.why}) × impact {rice_impact:g} "
            f"({'massive: ' if i.massive else i.name + ': '}{i.why}) × confidence {conf:.0%} ({conf_why}) "
            f"÷ effort {weeks:g} person-weeks ({e.describe()})",
        )


SETTINGS, retroflow_register_settings, retroflow_register_scoring_models = model_plugin(Rice(), RiceSettings)
