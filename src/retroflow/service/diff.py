"""What changed between two versions of a retro: its factors and its actions (the served
retro page shows it beside the version list)."""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from retroflow.default_plugins.renderers.texts import verdict
from retroflow.model import ActionItem, Factor, Retro

__all__ = ["ActionChange", "FactorChange", "RetroDiff", "retro_diff"]


@attrs.frozen
class FactorChange:
    """A factor added, removed, or whose standing changed (``before``/``after``: ``kept``,
    or what people said, e.g. ``rejected by alice: “…”``)."""

    key: str
    title: str
    change: str  # added, removed, changed
    before: str = ""
    after: str = ""


@attrs.frozen
class ActionChange:
    """An action added, removed, or changed (``fields``: name, before, after)."""

    id: str
    title: str
    change: str
    fields: tuple[tuple[str, str, str], ...] = ()


@attrs.frozen
class RetroDiff:
    old: int
    new: int
    factors: tuple[FactorChange, ...]
    actions: tuple[ActionChange, ...]

    def __bool__(self) -> bool:
        return bool(self.factors or self.actions)


def _standing(factor: Factor, rejected: bool) -> str:
    said = verdict(factor)
    return said or ("rejected" if rejected else "kept")


def _factors(retro: Retro) -> dict[str, tuple[Factor, str]]:
    found = {f.key: (f, _standing(f, False)) for f in retro.factors}
    found.update({f.key: (f, _standing(f, True)) for f in retro.rejected_factors})
    return found


def _factor_changes(old: Retro, new: Retro) -> list[FactorChange]:
    before, after = _factors(old), _factors(new)
    out = []
    for key in sorted(before.keys() | after.keys()):
        if key not in before:
            factor, standing = after[key]
            out.append(FactorChange(key, factor.title, "added", after=standing))
        elif key not in after:
            factor, standing = before[key]
            out.append(FactorChange(key, factor.title, "removed", before=standing))
        elif before[key][1] != after[key][1]:
            out.append(FactorChange(key, after[key][0].title, "changed", before[key][1], after[key][1]))
    return out


def _described(action: ActionItem, rank: int) -> dict[str, str]:
    verify = action.verify
    return {
        "rank": str(rank),
        "title": action.title,
        "change": action.change,
        "owner": action.owner or "—",
        "due": action.due.isoformat() if action.due else "—",
        "effort": action.effort.value if action.effort else "—",
        "category": action.category.value if action.category else "—",
        "score": f"{action.score.value:g}" if action.score else "—",
        "verify": " ".join(filter(None, (verify.metric, verify.service, verify.target))) if verify else "—",
    }


def _ranked(actions: Iterable[ActionItem]) -> dict[str, tuple[ActionItem, dict[str, str]]]:
    return {a.id: (a, _described(a, rank)) for rank, a in enumerate(actions, 1)}


def _action_changes(old: Retro, new: Retro) -> list[ActionChange]:
    before, after = _ranked(old.actions), _ranked(new.actions)
    out = []
    for action_id, (action, now) in after.items():
        if action_id not in before:
            out.append(ActionChange(action_id, action.title, "added"))
            continue
        was = before[action_id][1]
        fields = tuple((name, was[name], value) for name, value in now.items() if was[name] != value)
        if fields:
            out.append(ActionChange(action_id, action.title, "changed", fields))
    out += [ActionChange(i, a.title, "removed") for i, (a, _) in before.items() if i not in after]
    return out


def retro_diff(old: Retro, new: Retro) -> RetroDiff:
    """What changed from ``old`` to ``new``: factors by key, actions by id (in ``new``'s
    order, removed ones last)."""
    return RetroDiff(old.version, new.version, tuple(_factor_changes(old, new)), tuple(_action_changes(old, new)))
