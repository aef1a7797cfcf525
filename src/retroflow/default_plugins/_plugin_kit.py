"""What the default heuristic, review and scoring plugins do the same way, in one place.

* Declare a settings table and read it, with the class's defaults when it is absent
  (:class:`SettingsTable`); thresholds in settings are at least 1 (:func:`threshold`).
* Rate a factor's strength the same way (:func:`strength`).
* Propose one action per factor (:func:`propose`, :func:`answer`): the action answers that
  factor, its id is derived from the factor key and what it is about, its suggested owner
  is the team the data shows, and it always says how to verify it.
* Hook implementations that only declare something (a settings table, a scoring model,
  the proposers) are made here (:meth:`SettingsTable.hook`, :func:`scoring_model_hook`,
  :func:`proposals_hook`).

Hook implementations may return generators: the engine iterates what an implementation
returns inside its isolated call (timeout, errors become gaps), never later.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from typing import Any, Generic, TypeVar

import attrs

from retroflow import hookimpl
from retroflow.config import Config
from retroflow.model import ActionItem, Category, Effort, Factor, Incident, Verification, format_duration
from retroflow.roles import ScoringModel

S = TypeVar("S")

Proposer = Callable[[Incident, Factor], ActionItem]


# --- settings ------------------------------------------------------------------------------


def at_least_one(instance: Any, attribute: attrs.Attribute[Any], value: int) -> None:
    """attrs validator for thresholds in settings: a count or a number of minutes ≥ 1."""
    if value < 1:
        raise ValueError(f"{attribute.name} must be at least 1, got {value}")


def threshold(default: int) -> int:
    """A settings field for a threshold (a count or a number of minutes): at least 1."""
    return attrs.field(default=default, validator=at_least_one)


@attrs.frozen
class SettingsTable(Generic[S]):
    """The table ``[plugins.<name>]`` a plugin declares, validated into ``settings_class``."""

    name: str
    settings_class: type[S]

    def hook(self) -> Callable[[Callable[[str, type[Any]], None]], None]:
        """The ``retroflow_register_settings`` implementation that declares this table."""

        @hookimpl
        def retroflow_register_settings(register: Callable[[str, type[Any]], None]) -> None:
            register(self.name, self.settings_class)

        return retroflow_register_settings

    def read(self, config: Config) -> S:
        """The validated table of ``config``, or the defaults when it is absent."""
        return config.settings_for(self.name, self.settings_class) or self.settings_class()

    def given(self, settings: object) -> S:
        """``settings`` when they are this table's (e.g. ``ScoringContext.settings``), else
        the defaults."""
        return settings if isinstance(settings, self.settings_class) else self.settings_class()


def scoring_model_hook(
    model: ScoringModel, *, trylast: bool = False
) -> Callable[[Callable[[ScoringModel], None]], None]:
    """The ``retroflow_register_scoring_models`` implementation that offers ``model``."""

    @hookimpl(trylast=trylast)
    def retroflow_register_scoring_models(register: Callable[[ScoringModel], None]) -> None:
        register(model)

    return retroflow_register_scoring_models


# --- factors -------------------------------------------------------------------------------


def minutes_of(value: timedelta) -> float:
    """A duration in minutes as a factor keeps it in its details: to two places, from the
    whole seconds :func:`~retroflow.model.format_duration` rounds to, so that an action
    writing it again (:func:`minutes_text`) says what the factor's own text says."""
    return round(math.floor(value.total_seconds() + 0.5) / 60, 2)


def minutes_text(value: Any) -> str:
    """A number of minutes (a threshold, or a duration a factor keeps in its details) as
    :func:`~retroflow.model.format_duration` writes every duration; ``?`` when unknown."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "?"
    return format_duration(timedelta(minutes=value))


def strength(share: float) -> float:
    """A factor's strength from how far the evidence goes towards certain (``share``,
    e.g. the time waited over three times the threshold): at most 1, to two places."""
    return round(min(1.0, share), 2)


# --- actions -------------------------------------------------------------------------------


def team_of(incident: Incident) -> str | None:
    """The owner the data shows: the incident's team when it names exactly one."""
    return incident.teams[0] if len(incident.teams) == 1 else None


def detail(factor: Factor, key: str, default: Any = None) -> Any:
    """``factor.details[key]``, or ``default`` when it is missing or empty."""
    value = factor.details.get(key)
    return default if value in (None, "", [], ()) else value


def service_named(factor: Factor) -> str:
    """The service an action names: the factor's, else "the affected service"."""
    return str(detail(factor, "service", "the affected service"))


def propose(
    incident: Incident,
    factor_key: str,
    *about: object,
    title: str,
    change: str,
    category: Category,
    effort: Effort,
    verify: Verification,
    owner: str | None = None,
) -> ActionItem:
    """The action that answers the factor ``factor_key``.

    :param about: what the action is about (a service, a monitor, a past incident): with
        ``factor_key`` it derives the action's id, so the same action keeps its id.
    :param verify: how to tell the change worked (every proposed action says).
    :param owner: the suggested owner; by default the incident's team (:func:`team_of`).
    """
    return ActionItem.create(
        incident_id=incident.id,
        key=(factor_key, *about),
        title=title,
        change=change,
        category=category,
        owner=owner or team_of(incident),
        factors=(factor_key,),
        verify=verify,
        effort=effort,
    )


def answer(incident: Incident, factors: Iterable[Factor], proposers: Mapping[str, Proposer]) -> list[ActionItem]:
    """The action each factor with a proposer calls for."""
    return [proposers[factor.key](incident, factor) for factor in factors if factor.key in proposers]


def proposals_hook(proposers: Mapping[str, Proposer]) -> Callable[[Incident, tuple[Factor, ...]], list[ActionItem]]:
    """The ``retroflow_propose_actions`` implementation that answers factors with ``proposers``
    (one per factor key)."""

    @hookimpl
    def retroflow_propose_actions(incident: Incident, factors: tuple[Factor, ...]) -> list[ActionItem]:
        return answer(incident, factors, proposers)

    return retroflow_propose_actions
