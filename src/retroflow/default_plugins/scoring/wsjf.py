"""Scoring model ``wsjf``: (business value + time criticality + risk reduction) ÷ job size.

Each part is on the modified Fibonacci scale (1, 2, 3, 5, 8, 13):

* Business value: the incident's impact — low 2, medium 5, high 8, massive 13.
* Time criticality: how soon it bites again, from frequency — low 2, medium 5, high 8;
  one step more (up to 13) when the retro found a recurrence.
* Risk reduction / opportunity enablement: from the action's category — automate a
  decision 8, limit blast radius 8, detect faster 5, reduce cognitive load 3, none 2.
* Job size: from effort — low 2, medium 5, high 13.
"""

from __future__ import annotations

import attrs

from retroflow.default_plugins.conditions.keys import RECURRENCE
from retroflow.default_plugins.scoring.inputs import ImpactSettings, effort, frequency, impact, model_plugin, score
from retroflow.model import ActionItem, Category, Score
from retroflow.roles import ScoringContext

FIBONACCI = (1, 2, 3, 5, 8, 13)
BY_LEVEL = {1: 2, 2: 5, 3: 8}
RISK_REDUCTION = {
    Category.AUTOMATE_DECISION: 8,
    Category.LIMIT_BLAST_RADIUS: 8,
    Category.DETECT_FASTER: 5,
    Category.REDUCE_COGNITIVE_LOAD: 3,
}
JOB_SIZE = {"low": 2, "medium": 5, "high": 13}


def _step_up(value: int) -> int:
    return FIBONACCI[min(len(FIBONACCI) - 1, FIBONACCI.index(value) + 1)]


@attrs.frozen
class WsjfSettings(ImpactSettings):
    """``[plugins.wsjf]``: the impact thresholds (:class:`ImpactSettings`)."""


class Wsjf:
    name = "wsjf"

    def score(self, action: ActionItem, context: ScoringContext) -> Score:
        i = impact(context, SETTINGS.given(context.settings))
        value_points = 13 if i.massive else BY_LEVEL[i.level]
        f = frequency(action, context)
        critical = BY_LEVEL[f.level]
        recurred = any(factor.key == RECURRENCE for factor in context.factors)
        if recurred:
            critical = _step_up(critical)
        risk = RISK_REDUCTION.get(action.category, 2) if action.category else 2
        e = effort(action)
        size = JOB_SIZE[e.name]
        return score(
            self.name,
            (value_points + critical + risk) / size,
            {"business_value": value_points, "time_criticality": critical, "risk_reduction": risk, "job_size": size},
            f"(business value {value_points} (impact {'massive' if i.massive else i.name}: {i.why}) "
            f"+ time criticality {critical} (frequency {f.name}: {f.why}{'; it recurred' if recurred else ''}) "
            f"+ risk reduction {risk} ({action.category.value if action.category else 'no category'})) "
            f"÷ job size {size} (effort {e.describe()})",
        )


SETTINGS, retroflow_register_settings, retroflow_register_scoring_models = model_plugin(Wsjf(), WsjfSettings)
