"""Scoring model ``impact-math``: Frequency × Impact ÷ Effort on low/medium/high = 1/2/3.

Frequency, impact and effort are derived as ``docs/scoring.md`` says
(:mod:`retroflow.default_plugins.scoring.inputs`). The classic table: a missing alert at
high frequency, high impact and low effort scores 3 × 3 ÷ 1 = 9.
"""

from __future__ import annotations

import attrs

from retroflow.default_plugins.scoring.inputs import ImpactSettings, effort, frequency, impact, model_plugin, score
from retroflow.model import ActionItem, Score
from retroflow.roles import ScoringContext


@attrs.frozen
class ImpactMathSettings(ImpactSettings):
    """``[plugins.impact-math]``: the impact thresholds (:class:`ImpactSettings`)."""


class ImpactMath:
    name = "impact-math"

    def score(self, action: ActionItem, context: ScoringContext) -> Score:
        f = frequency(action, context)
        i = impact(context, SETTINGS.given(context.settings))
        e = effort(action)
        return score(
            self.name,
            f.level * i.level / e.level,
            {"frequency": f.name, "impact": i.name, "effort": e.name},
            f"frequency {f.name} ({f.why}) × impact {i.name} ({i.why}) ÷ effort {e.describe()} "
            f"= {f.level} × {i.level} ÷ {e.level}",
        )


SETTINGS, retroflow_register_settings, retroflow_register_scoring_models = model_plugin(
    ImpactMath(), ImpactMathSettings, trylast=True
)
