"""Scoring model ``impact-math``: Frequency × Impact ÷ Effort on low/medium/high = 1/2/3.

Frequency, impact and effort are derived as ``docs/scoring.md`` says
(:mod:`retroflow.default_plugins._scoring_inputs`). The classic table: a missing alert at
high frequency, high impact and low effort scores 3 × 3 ÷ 1 = 9.
"""

from __future__ import annotations

from typing import Any

import attrs

from retroflow import hookimpl
from retroflow.default_plugins._scoring_inputs import effort, frequency, impact
from retroflow.model import ActionItem, Score
from retroflow.roles import ScoringContext


@attrs.frozen
class ImpactMathSettings:
    """``[plugins.impact-math]``.

    :ivar high_impact_minutes: time to resolve from which impact is high.
    :ivar medium_impact_minutes: time to resolve from which impact is medium.
    """

    high_impact_minutes: int = 60
    medium_impact_minutes: int = 15


class ImpactMath:
    name = "impact-math"

    def score(self, action: ActionItem, context: ScoringContext) -> Score:
        settings = context.settings if isinstance(context.settings, ImpactMathSettings) else ImpactMathSettings()
        f = frequency(action, context)
        i = impact(context, settings.high_impact_minutes, settings.medium_impact_minutes)
        e = effort(action)
        value = round(f.level * i.level / e.level, 2)
        return Score(
            model=self.name,
            value=value,
            inputs={"frequency": f.name, "impact": i.name, "effort": e.name},
            explanation=(
                f"frequency {f.name} ({f.why}) × impact {i.name} ({i.why}) ÷ effort {e.describe()} "
                f"= {f.level} × {i.level} ÷ {e.level} = {value:g}"
            ),
        )


@hookimpl
def retroflow_register_settings(register: Any) -> None:
    register(ImpactMath.name, ImpactMathSettings)


@hookimpl(trylast=True)
def retroflow_register_scoring_models(register: Any) -> None:
    register(ImpactMath())
