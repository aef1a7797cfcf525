"""How the default heuristics propose the action that answers each factor they find.

What is fixed for a factor key — the kind of change (:class:`~retroflow.model.Category`),
its effort and the outcome metric that verifies it — is declared once, on the proposer
(:meth:`Proposers.answer`); the proposer itself writes only what depends on the factor: the
action's words, its target and what it is about (:class:`Proposal`). The action is then made
as every default action is (:func:`~retroflow.default_plugins._plugin_kit.propose`).
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

from retroflow.default_plugins._plugin_kit import Proposer, proposals_hook, propose
from retroflow.model import ActionItem, Category, Effort, Factor, Incident, Verification


@attrs.frozen
class Proposal:
    """What a proposer writes for one factor.

    :ivar service: where the outcome metric is measured (``None``: on no one service) and,
        unless ``about`` says otherwise, what the action is about.
    :ivar title: the action's title.
    :ivar change: the change, in words.
    :ivar target: the value of the metric that means done, in words.
    :ivar about: what the action is about (a service, monitors, a past incident): with the
        factor key it derives the action's id, so the same action keeps its id.
    :ivar owner: the suggested owner; by default the incident's team.
    """

    service: str | None
    title: str
    change: str
    target: str
    about: tuple[object, ...] | None = None
    owner: str | None = None

    def action(self, incident: Incident, key: str, category: Category, effort: Effort, metric: str) -> ActionItem:
        """The action this proposal is, answering the factor ``key``."""
        about = self.about if self.about is not None else (self.service,) if self.service else ()
        return propose(
            incident,
            key,
            *about,
            title=self.title,
            change=self.change,
            category=category,
            effort=effort,
            verify=Verification(metric=metric, service=self.service, target=self.target),
            owner=self.owner,
        )


#: What a default proposer is written as: the incident and the factor in, the proposal out.
Writer = Callable[[Incident, Factor], Proposal]


@attrs.frozen
class Proposers:
    """A plugin's proposers, by the factor key each answers."""

    by_key: dict[str, Proposer] = attrs.field(factory=dict)

    def answer(self, key: str, category: Category, effort: Effort, metric: str) -> Callable[[Writer], Writer]:
        """Decorator: the function writes the action that answers factors of ``key``, a
        ``category`` change of ``effort`` that the outcome ``metric`` verifies."""

        def declare(write: Writer) -> Writer:
            def proposer(incident: Incident, factor: Factor) -> ActionItem:
                return write(incident, factor).action(incident, key, category, effort, metric)

            self.by_key[key] = proposer
            return write

        return declare

    def hook(self) -> Callable[[Incident, tuple[Factor, ...]], list[ActionItem]]:
        """The ``retroflow_propose_actions`` implementation that answers with these proposers."""
        return proposals_hook(self.by_key)
