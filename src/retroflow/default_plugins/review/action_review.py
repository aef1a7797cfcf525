"""Action reviewer ``action-review``: findings on weak actions and blameful wording.

It never rewrites anything: each finding names a rule, says what tripped it and suggests
better wording. Rules (ids are stable; ``docs/heuristics.md`` has examples):

* ``relies-on-memory``: the action asks people to remember or take care ("be more
  careful", "remember to", "double-check", "make sure") instead of changing the system.
* ``vague``: "improve monitoring" and the like, with no object, number or threshold.
* ``no-owner``: nobody named.
* ``no-verification``: no metric, or no target, to tell whether it worked; or a metric that
  is not an outcome metric (``docs/outcomes.md``), which nothing can measure.
* ``too-many-actions``: more than ``max_actions`` actions in one retro (target ``retro``).
* ``blameless-language``: "human error", "careless", "should have" or "failed to" after a
  person, … in human text: action titles and changes, the narrative, messages, decisions
  and notes on the timeline (target: the action, or ``retro``).

Settings: ``[plugins.action-review]`` (:class:`ReviewSettings`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

import attrs

from retroflow import hookimpl
from retroflow.config import Config
from retroflow.default_plugins._plugin_kit import SettingsTable
from retroflow.default_plugins.conditions.facts import facts_of, is_person
from retroflow.model import ActionItem, EventKind, Finding, Retro
from retroflow.narrative import narrative_lines

RELIES_ON_MEMORY = "relies-on-memory"
VAGUE = "vague"
NO_OWNER = "no-owner"
NO_VERIFICATION = "no-verification"
TOO_MANY_ACTIONS = "too-many-actions"
BLAMELESS_LANGUAGE = "blameless-language"

#: Phrases that ask people to try harder; the system stays as it was.
MEMORY_PHRASES = (
    r"be (?:more |extra |very )?careful",
    r"take (?:more |extra )?care",
    r"remember(?:ing)? to",
    r"don'?t forget",
    r"do not forget",
    r"double[- ]check",
    r"make sure",
    r"be (?:more )?vigilant",
    r"pay (?:more |closer )?attention",
    r"try harder",
    r"be aware",
    r"keep in mind",
)

#: Improvement verbs and the broad nouns that, together and with nothing concrete, say
#: nothing about what to change.
_VAGUE_VERBS = r"(?:improve|improving|better|enhance|increase|more|add|review|strengthen|look into|investigate)"
_VAGUE_NOUNS = (
    r"(?:monitoring|alerting|alerts|observability|logging|logs|metrics|dashboards|testing|tests|"
    r"documentation|docs|processes|process|communication|reliability|resilience|stability|"
    r"training|awareness|quality|coverage|visibility|checks)"
)
_VAGUE_RE = re.compile(rf"\b{_VAGUE_VERBS}\b(?:\s+(?:our|the|some|more|better|overall))*\s+{_VAGUE_NOUNS}\b", re.I)
#: Anything that makes an action concrete: a number, a comparison, a quoted name, code.
_CONCRETE_RE = re.compile(r"\d|[<>≤≥=%]|\b(?:above|below|within|under|over|exceeds?)\b|[\"“‘`]", re.I)
_PLACEHOLDER_OWNERS = frozenset({"", "tbd", "tba", "todo", "?", "-", "—", "n/a", "none", "nobody", "unassigned"})

#: Blameful anywhere.
_BLAME_ALWAYS = (
    r"human error",
    r"careless(?:ness|ly)?",
    r"negligen(?:t|ce)",
    r"sloppy",
    r"incompeten(?:t|ce)",
    r"(?:his|her|their) fault",
    r"fault of",
    r"to blame",
)
#: Blameful after a person ("bob failed to", "the on-call should have").
_BLAME_AFTER_PERSON = (
    r"should(?:n'?t| not)? have",
    r"failed to",
    r"forgot to",
    r"neglected to",
    r"didn'?t bother",
    r"did not bother",
    r"ignored",
    # "we missed the SLO" states an outcome, not somebody's lapse.
    r"missed(?!\s+(?:(?:the|our|its|their|an?)\s+)?(?:\w+\s+)?(?:slos?|slas?|targets?|deadlines?|goals?|objectives?|error budget|budget)\b)",
)
_PERSON_WORDS = (
    r"i|we|you|he|she|they|someone|somebody|nobody|everyone|the (?:on-?call|engineer|responder|developer|"
    r"operator|team|author|reviewer|deployer|user|admin|sre|lead)"
)


#: Kinds whose summary people wrote (reviewed for blameless language).
_HUMAN_TEXT = frozenset({EventKind.MESSAGE, EventKind.DECISION, EventKind.RESPONSE})
#: Kinds whose actor is a person (known names make "bob failed to" recognisable).
_PEOPLE_KINDS = frozenset(EventKind) - {EventKind.SIGNAL, EventKind.ALERT}


@attrs.frozen
class ReviewSettings:
    """``[plugins.action-review]``.

    :ivar max_actions: more actions than this in one retro is a finding.
    :ivar memory_phrases: extra phrases (regular expressions) for ``relies-on-memory``.
    :ivar blame_phrases: extra phrases (regular expressions) for ``blameless-language``.
    :ivar people: extra names treated as people for ``blameless-language`` (actors on the
        timeline and action owners are known already).
    """

    max_actions: int = 5
    memory_phrases: list[str] = attrs.field(factory=list)
    blame_phrases: list[str] = attrs.field(factory=list)
    people: list[str] = attrs.field(factory=list)

    @memory_phrases.validator
    @blame_phrases.validator
    def _compiles(self, attribute: attrs.Attribute[Any], value: list[str]) -> None:
        for phrase in value:
            try:
                re.compile(phrase)
            except re.error as exc:
                raise ValueError(f"{attribute.name}: {phrase!r} is not a regular expression: {exc}") from None


SETTINGS = SettingsTable("action-review", ReviewSettings)
retroflow_register_settings = SETTINGS.hook()


def _alternation(phrases: Iterable[str]) -> str:
    return "|".join(f"(?:{p})" for p in phrases)


class Reviewer:
    """The review rules, compiled once for a set of settings, known people and outcome
    metrics (none: a metric's name is not checked)."""

    def __init__(self, settings: ReviewSettings, people: Iterable[str] = (), metrics: Iterable[str] = ()) -> None:
        self.settings = settings
        self.metrics = frozenset(metrics)
        self.memory = re.compile(rf"\b(?:{_alternation([*MEMORY_PHRASES, *settings.memory_phrases])})\b", re.I)
        names = sorted({re.escape(p) for p in [*people, *settings.people] if p and p.strip()}, key=len, reverse=True)
        person = _PERSON_WORDS + ("|" + "|".join(names) if names else "")
        always = _alternation([*_BLAME_ALWAYS, *settings.blame_phrases])
        self.blame = re.compile(
            rf"\b(?:{always})\b|\b(?P<person>{person})\s+(?:\w+\s+)?(?P<phrase>{_alternation(_BLAME_AFTER_PERSON)})\b",
            re.I,
        )

    # --- rules on one action ---------------------------------------------------------

    def review(self, action: ActionItem) -> Iterator[Finding]:
        text = f"{action.title}. {action.change}".strip()
        match = self.memory.search(text)
        if match:
            yield Finding(
                rule=RELIES_ON_MEMORY,
                message=f"“{match.group(0)}” relies on people remembering or taking care; the system stays the same.",
                suggestion="Change the system so the mistake cannot happen or is caught on its own: a check in "
                "CI or the deploy pipeline, a guard rail, an alert, an automated step.",
                target=action.id,
            )
        vague = _VAGUE_RE.search(text)
        if vague and not _CONCRETE_RE.search(text) and not (action.verify and action.verify.target):
            yield Finding(
                rule=VAGUE,
                message=f"“{vague.group(0)}” names no object, number or threshold.",
                suggestion="Say which signal, on which service, at what threshold (e.g. “alert when checkout "
                "5xx > 2% for 3 min, paging the checkout on-call”).",
                target=action.id,
            )
        if (action.owner or "").strip().lower() in _PLACEHOLDER_OWNERS:
            yield Finding(
                rule=NO_OWNER,
                message="Nobody owns this action.",
                suggestion="Name one team or person who will see it through (the team owning the service).",
                target=action.id,
            )
        verify = action.verify
        if verify is None or not verify.metric.strip():
            yield Finding(
                rule=NO_VERIFICATION,
                message="There is no way to tell whether this action worked.",
                suggestion="Add a metric, the service it is measured on and a target (e.g. “time to detect on "
                "checkout ≤ 5 min”).",
                target=action.id,
            )
        elif self.metrics and verify.metric not in self.metrics:
            yield Finding(
                rule=NO_VERIFICATION,
                message=f"“{verify.metric}” is not an outcome metric: once done, nothing can tell whether "
                "this action worked.",
                suggestion=f"Name one of {', '.join(sorted(self.metrics))} (see docs/outcomes.md) and say the "
                "specifics in the target (e.g. metric “time-to-detect”, target “≤ 5 min from first signal to "
                "page”).",
                target=action.id,
            )
        elif not (verify.target or "").strip():
            yield Finding(
                rule=NO_VERIFICATION,
                message=f"“{verify.metric}” has no target.",
                suggestion="Add the value that means done (e.g. “≤ 5 min”, “0 per quarter”).",
                target=action.id,
            )
        yield from self.blameless(text, action.id, "this action")

    # --- blameless language ------------------------------------------------------------

    def blameless(self, text: str, target: str, where: str) -> Iterator[Finding]:
        match = self.blame.search(text)
        if match is None:
            return
        yield Finding(
            rule=BLAMELESS_LANGUAGE,
            message=f"{where[0].upper()}{where[1:]} says “{match.group(0)}”, which puts the cause in a person.",
            suggestion="Describe the conditions instead: what the person saw, knew and could do at the time, and "
            "what in the system made the other path likely (e.g. “the alert carried no runbook, so the "
            "rollback step was not obvious at 02:19”).",
            target=target,
        )


@hookimpl
def retroflow_review_actions(retro: Retro, config: Config, outcome_metrics: tuple[str, ...]) -> Iterator[Finding]:
    return review_retro(retro, SETTINGS.read(config), outcome_metrics)


def review_retro(retro: Retro, settings: ReviewSettings, metrics: Iterable[str] = ()) -> Iterator[Finding]:
    """Every finding on ``retro``'s actions, its size and its human text; with ``metrics``
    (the outcome metrics' names), an action's ``verify.metric`` must name one."""
    human_events = []
    people = {a.owner for a in retro.actions if a.owner}
    for event in facts_of(retro.timeline).notable:  # people's text is never a raw signal
        if event.kind in _HUMAN_TEXT:
            human_events.append(event)
        if event.actor and event.kind in _PEOPLE_KINDS:
            people.add(event.actor)
    reviewer = Reviewer(settings, filter(is_person, people), metrics)
    for action in retro.actions:
        yield from reviewer.review(action)
    if len(retro.actions) > settings.max_actions:
        yield Finding(
            rule=TOO_MANY_ACTIONS,
            message=f"{len(retro.actions)} actions in one retro (more than {settings.max_actions}); "
            "long lists are rarely finished.",
            suggestion=f"Commit to the top {settings.max_actions} by score and park the rest explicitly.",
        )
    for number, line in enumerate(narrative_lines(retro), start=1):
        yield from reviewer.blameless(line, "retro", f"narrative line {number}")
    for event in human_events:
        yield from reviewer.blameless(event.summary, "retro", f"{event.kind.value} {event.id} ({event.at:%H:%M})")
