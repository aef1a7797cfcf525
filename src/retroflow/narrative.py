"""The narrative of conditions: which conditions had to line up, one line per factor.

The engine sets :attr:`retroflow.model.Retro.narrative` from the factors it kept. The lines
are plain Markdown: a lead sentence, then one list item per factor, grouped by layer
(technical, human, process) and named by it, each citing up to :data:`EVIDENCE_PER_LINE` events, linked when the event has a link.
"""

from __future__ import annotations

from collections.abc import Sequence

from retroflow.model import LAYER_ORDER, Event, Factor, Timeline

__all__ = ["EVIDENCE_PER_LINE", "LEAD", "narrate"]

LEAD = "This incident needed these conditions to line up:"
#: At most this many events are cited on one line.
EVIDENCE_PER_LINE = 3


def _cited(event: Event) -> str:
    label = f"{event.at:%H:%M} {event.kind.value}"
    return f"[{label}]({event.link})" if event.link else f"{label} `{event.id}`"


def narrate(factors: Sequence[Factor], timeline: Timeline) -> tuple[str, ...]:
    """The narrative lines for ``factors`` (empty when there are none)."""
    if not factors:
        return ()
    found = timeline.index
    lines = [LEAD]
    for factor in sorted(factors, key=lambda f: LAYER_ORDER[f.layer]):  # stable: keeps order within a layer
        shown = [_cited(found[e]) for e in factor.evidence[:EVIDENCE_PER_LINE] if e in found]
        more = len(factor.evidence) - EVIDENCE_PER_LINE
        if more > 0:
            shown.append(f"{more} more")
        lines.append(
            f"- {factor.layer.value.capitalize()}: {factor.title} "
            f"(`{factor.key}`; evidence: {', '.join(shown) or 'none shown'})"
        )
    return tuple(lines)
