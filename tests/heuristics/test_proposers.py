"""The default proposers: one per factor key, declared with what is fixed for that key (the
kind of change, its effort, the metric that verifies it); each writes only the words."""

from __future__ import annotations

from retroflow.default_plugins.conditions import (
    change_before_incident,
    human,
    keys,
    misleading_signal,
    process,
    technical,
)
from retroflow.default_plugins.conditions.proposers import Proposal, Proposers
from retroflow.model import ActionItem, Category, Effort, Factor, Incident, Layer, Verification
from retroflow.testing import build, make_event, make_incident

MODULES = (change_before_incident, technical, human, misleading_signal, process)


def make_factor(key: str) -> Factor:
    return Factor(key=key, layer=Layer.PROCESS, title=key, explanation="", evidence=("e",))


def test_every_factor_key_has_one_proposer() -> None:
    declared = [key for module in MODULES for key in module.PROPOSERS.by_key]
    every_key = {value for name, value in vars(keys).items() if name.isupper()}
    assert sorted(declared) == sorted(every_key)


def test_the_declaration_and_the_proposal_make_the_action() -> None:
    proposers = Proposers()

    @proposers.answer("k", Category.DETECT_FASTER, Effort.LOW, "time-to-detect")
    def write(incident: Incident, factor: Factor) -> Proposal:
        return Proposal("checkout", title="Alert sooner", change="Page on 5xx", target="≤ 5 min")

    incident = make_incident(teams=("storefront",))
    [action] = proposers.hook()(incident, (make_factor("k"), make_factor("other")))
    assert action == ActionItem.create(
        incident_id=incident.id,
        key=("k", "checkout"),  # what it is about is, by default, its service
        title="Alert sooner",
        change="Page on 5xx",
        category=Category.DETECT_FASTER,
        owner="storefront",
        factors=("k",),
        verify=Verification(metric="time-to-detect", service="checkout", target="≤ 5 min"),
        effort=Effort.LOW,
    )
    assert write(incident, make_factor("k")).service == "checkout"  # the function stays callable


def test_what_an_action_is_about_derives_its_id() -> None:
    incident = make_incident()

    def action_id(proposal: Proposal) -> str:
        return proposal.action(incident, "k", Category.AUTOMATE_DECISION, Effort.LOW, "time-to-restore").id

    on_checkout = Proposal("checkout", title="t", change="c", target="x")
    assert action_id(on_checkout) == action_id(Proposal("checkout", title="t2", change="c2", target="y"))
    assert action_id(on_checkout) == action_id(Proposal(None, about=("checkout",), title="t", change="c", target="x"))
    assert action_id(on_checkout) != action_id(Proposal("checkout", about=(), title="t", change="c", target="x"))
    assert action_id(Proposal(None, title="t", change="c", target="x")) == action_id(
        Proposal("checkout", about=(), title="t", change="c", target="x")
    )


def test_the_missing_runbook_action_keeps_the_id_its_monitors_gave_it() -> None:
    """Stored human input names actions by id: the monitors, together, are what it is about."""
    events = [
        make_event("log", 0, service="checkout"),
        make_event("alert", 5, service="checkout", details={"monitor": "m"}),
    ]
    retro = build(events)
    [action] = [a for a in retro.actions if a.factors == (keys.MISSING_RUNBOOK,)]
    assert (
        action.id == ActionItem.create(incident_id=retro.incident.id, title="", key=(keys.MISSING_RUNBOOK, ("m",))).id
    )
