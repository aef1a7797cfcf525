"""The narrative of conditions: which conditions had to line up, one line per factor.

The engine sets :attr:`retroflow.model.Retro.narrative` from the factors it kept: data, one
:class:`~retroflow.model.NarrativeLine` per factor (its key and the events cited for it),
grouped by layer (technical, human, process). Renderers word it: :func:`narrative_lines`
gives the Markdown (a lead sentence, then one list item per factor, named by its layer,
each citing up to :data:`EVIDENCE_PER_LINE` events, linked when the event has a link).
"""

from __future__ import annotations

from collections.abc import Sequence

from retroflow.model import LAYER_ORDER, Event, Factor, NarrativeLine, Retro

__all__ = ["EVIDENCE_PER_LINE", "LEAD", "narrate", "narrative_lines"]

LEAD = "This incident needed these conditions to line up:"
#: At most this many events are cited on one line.
EVIDENCE_PER_LINE = 3


def narrate(factors: Sequence[Factor]) -> tuple[NarrativeLine, ...]:
    """The narrative of ``factors`` (empty when there are none)."""
    ordered = sorted(factors, key=lambda f: LAYER_ORDER[f.layer])  # stable: keeps order within a layer
    return tuple(NarrativeLine(factor.key, factor.evidence[:EVIDENCE_PER_LINE]) for factor in ordered)


def _cited(event: Event) -> str:
    label = f"{event.at:%H:%M} {event.kind.value}"
    return f"[{label}]({event.link})" if event.link else f"{label} `{event.id}`"


def narrative_lines(retro: Retro) -> tuple[str, ...]:
    """The retro's narrative as Markdown lines: the lead, then one line per factor (empty
    when there are none). What people read, so what the review checks."""
    if not retro.narrative:
        return ()
    factors = {factor.key: factor for factor in (*retro.factors, *retro.rejected_factors)}
    found = retro.timeline.index
    lines = [LEAD]
    for line in retro.narrative:
        factor = factors.get(line.factor)
        if factor is None:
            continue
        shown = [_cited(found[e]) for e in line.evidence if e in found]
        more = len(factor.evidence) - len(line.evidence)
        if more > 0:
            shown.append(f"{more} more")
        lines.append(
            f"- {factor.layer.value.capitalize()}: {factor.title} "
            f"(`{factor.key}`; evidence: {', '.join(shown) or 'none shown'})"
        )
    return tuple(lines)
