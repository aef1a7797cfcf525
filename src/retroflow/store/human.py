"""Human input: what people say about a retro, kept apart from the machine draft and
applied on every build.

Four kinds of input, each a frozen value:

* :class:`FactorVerdict`: confirm or reject a contributing factor (by key);
* :class:`AddedEvent`: an event the sources could not see (a belief, a decision and why);
  it becomes a real timeline event with source ``human``, so factors can cite it as
  ``human:<id>``;
* :class:`ActionEdit`: change an action's title, change, owner, effort, due date,
  category, or how it will be verified;
* :class:`NewAction`: an action a person adds (with its category and verification).

Input comes from the store (``retroflow input ...``) and from a retro-as-code file
(``<INCIDENT>.retro.toml``, see ``docs/retro-as-code.md``); the file is applied after the
store, so a reviewed file wins.
"""

from __future__ import annotations

import enum
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal, TypeVar

import attrs

from retroflow.config import Config
from retroflow.engine import PastActionsLookup, Progress, build_retro
from retroflow.errors import ConfigError
from retroflow.filenames import incident_file_stem
from retroflow.model import (
    KIND_ALIASES,
    ActionItem,
    Category,
    Effort,
    Event,
    Factor,
    Finding,
    Retro,
    SourceResult,
    Timeline,
    Verification,
    format_timestamp,
    parse_timestamp,
    stable_id,
)
from retroflow.plugins import Plugins
from retroflow.request import RetroRequest

__all__ = [
    "HUMAN_SOURCE",
    "ActionEdit",
    "AddedEvent",
    "FactorVerdict",
    "HumanInput",
    "InputRefused",
    "NewAction",
    "action_input",
    "build_with_input",
    "input_file_path",
    "load_input_file",
    "new_action_id",
    "unknown_factor",
]

#: The ``source`` of events people add, and ``proposed_by`` of actions they add.
HUMAN_SOURCE = "human"
EDITABLE_FIELDS = ("title", "change", "owner", "effort", "due", "category")
#: The parts of a :class:`~retroflow.model.Verification` input may give.
VERIFY_KEYS = ("metric", "service", "target")


@attrs.frozen
class FactorVerdict:
    """Confirm or reject a contributing factor."""

    key: str
    status: Literal["confirmed", "rejected"]
    reason: str = ""
    author: str = ""

    def __attrs_post_init__(self) -> None:
        if self.status not in ("confirmed", "rejected"):
            raise ValueError(f"factor {self.key!r}: status must be 'confirmed' or 'rejected', not {self.status!r}")

    def describe(self) -> str:
        """One line for people, e.g. ``factor late-alert: rejected — “it was on time”``."""
        return f"factor {self.key}: {self.status}" + (f" — {_quoted(self.reason)}" if self.reason else "")


@attrs.frozen
class AddedEvent:
    """An event a person adds to the timeline."""

    at: datetime
    kind: str
    summary: str
    why: str = ""
    actor: str | None = None
    id: str = ""
    author: str = ""

    def __attrs_post_init__(self) -> None:
        if self.kind.lower() not in KIND_ALIASES:
            raise ValueError(f"event kind {self.kind!r} is unknown (e.g. decision, message, change, signal)")
        if self.at.tzinfo is None:
            raise ValueError(f"event time {self.at.isoformat()} has no UTC offset")

    @property
    def native_id(self) -> str:
        return self.id or stable_id(format_timestamp(self.at), self.kind, self.summary)

    def describe(self) -> str:
        """One line for people, e.g. ``event human:hold at 2026-11-02 14:07Z, decision by
        alice: Hold (why: …)``."""
        what = f"{self.kind} by {self.actor}" if self.actor else self.kind
        why = f" (why: {_one_line(self.why)})" if self.why else ""
        return f"event {HUMAN_SOURCE}:{self.native_id} at {_when(self.at)}, {what}: {_one_line(self.summary)}{why}"

    def to_event(self) -> Event:
        details: dict[str, Any] = {}
        if self.why:
            details["why"] = self.why
        if self.author:
            details["author"] = self.author
        return Event.create(
            at=self.at,
            source=HUMAN_SOURCE,
            kind=self.kind,
            summary=self.summary,
            native_id=self.native_id,
            actor=self.actor,
            details=details,
        )


def _optional_date(value: date | str | None) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(value)


E = TypeVar("E", bound=enum.Enum)
T = TypeVar("T")


def _choice(kind: type[E], name: str, value: E | str | None) -> E | None:
    """``value`` as a member of ``kind``, or an error naming ``name`` and the choices."""
    if value is None or isinstance(value, kind):
        return value
    for member in kind:
        if member.value == value:
            return member
    choices = ", ".join(str(m.value) for m in kind)
    raise ValueError(f"{name} {value!r} is not one of: {choices}")


def _optional_effort(value: Effort | str | None) -> Effort | None:
    return _choice(Effort, "effort", value)


def _optional_category(value: Category | str | None) -> Category | None:
    return _choice(Category, "category", value)


def _verify_parts(value: Mapping[str, Any] | Verification | None) -> dict[str, str]:
    """The parts of a verification that input gives (``metric``, ``service``, ``target``;
    an edit may give some only). :raises ValueError: naming the part that is wrong."""
    if value is None:
        return {}
    if isinstance(value, Verification):
        value = attrs.asdict(value)
    if not isinstance(value, Mapping):
        raise ValueError("verify: expected a table with metric, service and target")
    unknown = sorted(set(value) - set(VERIFY_KEYS))
    if unknown:
        raise ValueError(f"verify: unknown key {unknown[0]!r} (expected {', '.join(VERIFY_KEYS)})")
    parts: dict[str, str] = {}
    for key in VERIFY_KEYS:
        part = value.get(key)
        if part is None:
            continue
        if not isinstance(part, str) or not part.strip():
            raise ValueError(f"verify: {key}: expected text")
        parts[key] = part
    return parts


@attrs.frozen
class ActionEdit:
    """Change some fields of an action (``None``: keep what the machine proposed)."""

    action_id: str
    title: str | None = None
    change: str | None = None
    owner: str | None = None
    effort: Effort | None = attrs.field(default=None, converter=_optional_effort)
    due: date | None = attrs.field(default=None, converter=_optional_date)
    author: str = ""
    category: Category | None = attrs.field(default=None, converter=_optional_category)
    #: Parts of the verification to change (the action's other parts stay).
    verify: Mapping[str, str] = attrs.field(factory=dict, converter=_verify_parts, hash=False)

    def fields(self) -> dict[str, Any]:
        """The fields this edit sets (``verify`` aside: see :meth:`applied_to`)."""
        return {name: getattr(self, name) for name in EDITABLE_FIELDS if getattr(self, name) is not None}

    def changes_anything(self) -> bool:
        return bool(self.fields() or self.verify)

    def describe(self) -> str:
        """One line for people, e.g. ``edit action abc123: owner dan, verify target “≤ 5 min”``."""
        return f"edit action {self.action_id}: " + ", ".join(_described(self.fields(), self.verify))

    def merged_with(self, later: ActionEdit) -> ActionEdit:
        return attrs.evolve(
            self, **later.fields(), verify={**self.verify, **later.verify}, author=later.author or self.author
        )

    def applied_to(self, action: ActionItem) -> tuple[ActionItem, Finding | None]:
        """``action`` with this edit applied, and a finding when the edit gives parts of a
        verification but neither it nor the action names the metric (those parts are then
        not applied: a target with nothing to measure means nothing)."""
        changes = self.fields()
        note = None
        if self.verify:
            parts = {**_verify_parts(action.verify), **self.verify}
            if "metric" in parts:
                changes["verify"] = Verification(**parts)
            else:
                note = _incomplete(action.id, sorted(self.verify))
        edited = sorted({*action.details.get("edited_by_human", ()), *changes})
        return attrs.evolve(action, **changes, details={**action.details, "edited_by_human": edited}), note


@attrs.frozen
class NewAction:
    """An action a person adds. Give ``id`` to keep it stable when the title changes."""

    title: str
    change: str = ""
    owner: str | None = None
    effort: Effort | None = attrs.field(default=None, converter=_optional_effort)
    due: date | None = attrs.field(default=None, converter=_optional_date)
    factors: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    id: str = ""
    author: str = ""
    category: Category | None = attrs.field(default=None, converter=_optional_category)
    verify: Mapping[str, str] = attrs.field(factory=dict, converter=_verify_parts, hash=False)

    @verify.validator
    def _names_a_metric(self, attribute: attrs.Attribute[Any], value: Mapping[str, str]) -> None:
        if value and "metric" not in value:
            raise ValueError("verify: a new action needs a metric (what to measure), not only a target or service")

    def action_id(self, incident_id: str) -> str:
        return self.id or stable_id(incident_id, HUMAN_SOURCE, self.title)

    def describe(self) -> str:
        """One line for people, e.g. ``new action drill: “Practise rollbacks” (owner dan)``."""
        fields = {name: getattr(self, name) for name in ("change", "owner", "effort", "due", "category")}
        said = _described({k: v for k, v in fields.items() if v}, self.verify)
        if self.factors:
            said.append("answers " + ", ".join(self.factors))
        name = f"new action {self.id}" if self.id else "new action"
        return f"{name}: {_quoted(self.title)}" + (f" ({', '.join(said)})" if said else "")

    def to_action(self, incident_id: str) -> ActionItem:
        return ActionItem(
            id=self.action_id(incident_id),
            title=self.title,
            change=self.change,
            owner=self.owner,
            effort=self.effort,
            due=self.due,
            category=self.category,
            verify=Verification(**self.verify) if self.verify else None,
            factors=self.factors,
            proposed_by=HUMAN_SOURCE,
            details={"author": self.author} if self.author else {},
        )


InputItem = FactorVerdict | AddedEvent | ActionEdit | NewAction


class InputRefused(ValueError):
    """Input that cannot be recorded as given; the message says what to change, ``reason``
    which rule it broke (``nothing``, ``title`` or ``metric``: a command words it its way)."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def unknown_factor(keys: Sequence[str] | None, key: str, incident_id: str) -> str | None:
    """Why a verdict on factor ``key`` cannot be recorded (``None``: it can). ``keys`` are
    the factors of the newest stored retro, kept and rejected; ``None`` before its first
    build, when any key is recorded."""
    if keys is None or key in keys:
        return None
    has = f"its factors: {', '.join(keys)}" if keys else "it has no factors"
    return f"the newest retro of {incident_id} has no factor {key!r}; {has}"


def new_action_id(incident: str, title: str, now: datetime) -> str:
    """The id of an action a person adds: stable once recorded, unique per addition."""
    return "h" + stable_id(incident, title, now.isoformat())[:15]


def action_input(
    incident: str,
    action_id: str | None,
    *,
    author: str,
    now: datetime,
    title: str | None = None,
    change: str | None = None,
    verify: Mapping[str, str | None] | None = None,
    **fields: Any,
) -> ActionEdit | NewAction:
    """An edit of action ``action_id``, or (no id) a new action: what ``retroflow input
    action`` and the served form record. ``fields``: ``owner``, ``effort``, ``due``,
    ``category``; ``verify``: its ``metric``, ``service``, ``target`` (``None``: not given).

    :raises InputRefused: nothing to change, or a new action without a title, or a
        verification without a metric.
    :raises ValueError: a value that is not one of its choices (naming it).
    """
    parts = {part: value for part, value in (verify or {}).items() if value is not None}
    if action_id:
        edit = ActionEdit(action_id, title=title, change=change, author=author, verify=parts, **fields)
        if not edit.changes_anything():
            raise InputRefused(
                "say what to change: title, change, owner, effort, due, category, or the verification's "
                "metric, service or target",
                "nothing",
            )
        return edit
    if not title:
        raise InputRefused("a new action needs a title (or the id of the action to edit)", "title")
    if parts and "metric" not in parts:
        raise InputRefused("a verification's target and service need its metric (what to measure)", "metric")
    return NewAction(
        title=title, change=change or "", id=new_action_id(incident, title, now), author=author, verify=parts, **fields
    )


@attrs.frozen
class HumanInput:
    """All human input for one incident, merged (a later item for the same target wins)."""

    factors: tuple[FactorVerdict, ...] = ()
    events: tuple[AddedEvent, ...] = ()
    edits: tuple[ActionEdit, ...] = ()
    new_actions: tuple[NewAction, ...] = ()

    @classmethod
    def from_items(cls, items: Iterable[InputItem]) -> HumanInput:
        return cls().with_items(items)

    def with_items(self, items: Iterable[InputItem]) -> HumanInput:
        """This input with ``items`` applied after it (later wins, per target)."""
        factors = {f.key: f for f in self.factors}
        events = {e.native_id: e for e in self.events}
        edits = {e.action_id: e for e in self.edits}
        new = {a.id or a.title: a for a in self.new_actions}
        for item in items:
            if isinstance(item, FactorVerdict):
                factors[item.key] = item
            elif isinstance(item, AddedEvent):
                events[item.native_id] = item
            elif isinstance(item, ActionEdit):
                edits[item.action_id] = edits[item.action_id].merged_with(item) if item.action_id in edits else item
            else:
                new[item.id or item.title] = item
        return HumanInput(tuple(factors.values()), tuple(events.values()), tuple(edits.values()), tuple(new.values()))

    def items(self) -> list[InputItem]:
        """Every item, factors first, then events, edits and new actions."""
        return [*self.factors, *self.events, *self.edits, *self.new_actions]

    def merged_with(self, later: HumanInput) -> HumanInput:
        return self.with_items(later.items())

    def __bool__(self) -> bool:
        return bool(self.factors or self.events or self.edits or self.new_actions)

    # -- applying ---------------------------------------------------------------------

    def timeline_events(self) -> list[Event]:
        return [e.to_event() for e in self.events]

    def apply(self, retro: Retro) -> Retro:
        """The retro with this input applied (the ``amend`` step of every build).

        Rejected factors move to ``rejected_factors`` (out of the analysis, still shown),
        and machine-proposed actions that answer only rejected factors are removed (unless
        a person edited them). Both rejected and confirmed factors carry the verdict in
        ``details["human"]`` (status, reason, author). Added events are put on the
        timeline if a build did not already collect them. Input that names a factor or action the draft no longer has becomes
        a finding, so it is seen rather than silently lost.
        """
        notes: list[Finding] = []
        retro = self._with_events(retro)
        verdicts = {v.key: v for v in self.factors}
        rejected = {k for k, v in verdicts.items() if v.status == "rejected"}
        known_factors = {f.key for f in retro.factors}
        factors: list[Factor] = []
        set_aside = list(retro.rejected_factors)
        for factor in retro.factors:
            verdict = verdicts.get(factor.key)
            if verdict is None:
                factors.append(factor)
                continue
            human = {"status": verdict.status, "reason": verdict.reason, "author": verdict.author}
            marked = attrs.evolve(factor, details={**factor.details, "human": human})
            (factors if verdict.status == "confirmed" else set_aside).append(marked)
        for key in sorted(set(verdicts) - known_factors):
            notes.append(_stale(f"factor {key!r}", "factor"))

        edits = {e.action_id: e for e in self.edits}
        actions: list[ActionItem] = []
        present = set()
        for action in retro.actions:
            edit = edits.get(action.id)
            if edit is None and action.factors and set(action.factors) <= rejected:
                continue  # answers only factors people rejected
            if edit is not None:
                action = self._edited(action, edit, notes)
            actions.append(action)
            present.add(action.id)
        for new in self.new_actions:
            action = new.to_action(retro.incident.id)
            if action.id in present:
                continue
            edit = edits.get(action.id)
            if edit is not None:
                action = self._edited(action, edit, notes)
            actions.append(action)
            present.add(action.id)
        for action_id in sorted(set(edits) - present):
            notes.append(_stale(f"action {action_id!r}", action_id))
        return attrs.evolve(
            retro,
            factors=tuple(factors),
            rejected_factors=tuple(set_aside),
            actions=tuple(actions),
            findings=(*retro.findings, *notes),
        )

    @staticmethod
    def _edited(action: ActionItem, edit: ActionEdit, notes: list[Finding]) -> ActionItem:
        edited, note = edit.applied_to(action)
        if note is not None:
            notes.append(note)
        return edited

    def _with_events(self, retro: Retro) -> Retro:
        added = self.timeline_events()
        if not added:  # the usual case: no need to look through every event
            return retro
        have = {e.key for e in retro.timeline.events}
        missing = [e for e in added if e.key not in have]
        if not missing:
            return retro
        timeline = Timeline.from_events([*retro.timeline.events, *missing], retro.incident)
        return attrs.evolve(retro, timeline=timeline)

    # -- documents ----------------------------------------------------------------------

    def to_data(self) -> dict[str, Any]:
        """Plain data (the shape of the retro-as-code file)."""
        return {
            "factors": [_drop_empty(attrs.asdict(f)) for f in self.factors],
            "events": [
                _drop_empty({**attrs.asdict(e), "at": format_timestamp(e.at), "id": e.native_id}) for e in self.events
            ],
            "actions": [
                *(
                    _drop_empty(
                        {"id": e.action_id, **_jsonable(e.fields()), "verify": dict(e.verify), "author": e.author}
                    )
                    for e in self.edits
                ),
                *(
                    _drop_empty({**_jsonable(attrs.asdict(a)), "factors": list(a.factors), "new": True})
                    for a in self.new_actions
                ),
            ],
        }

    @classmethod
    def from_data(cls, data: Mapping[str, Any], *, where: str = "input") -> HumanInput:
        """Read the retro-as-code shape; errors name ``where`` and the entry."""
        unknown = sorted(set(data) - {"incident", "factors", "events", "actions"})
        if unknown:
            raise ValueError(f"{where}: unknown key {unknown[0]!r} (expected incident, factors, events, actions)")
        items: list[InputItem] = []
        items += [
            _verdict_of(entry, f"{where}: factors[{i}]") for i, entry in enumerate(_tables(data, "factors", where))
        ]
        items += [_event_of(entry, f"{where}: events[{i}]") for i, entry in enumerate(_tables(data, "events", where))]
        items += [
            _action_of(entry, f"{where}: actions[{i}]") for i, entry in enumerate(_tables(data, "actions", where))
        ]
        return cls.from_items(items)

    def to_toml(self, incident_id: str) -> str:
        """The retro-as-code file for this input (TOML, written by hand: stdlib reads only)."""
        data = self.to_data()
        lines = [
            "# Human input for the retro of incident " + incident_id + ", applied on every build.",
            "# See docs/retro-as-code.md. Review changes to this file like code.",
            f"incident = {_toml_value(incident_id)}",
        ]
        for table in ("factors", "events", "actions"):
            for entry in data[table]:
                lines.append("")
                lines.append(f"[[{table}]]")
                lines.extend(
                    # Times and dates as TOML values, not strings: they read better in review.
                    f"{key} = {value if key in ('at', 'due') else _toml_value(value)}"
                    for key, value in entry.items()
                )
        return "\n".join(lines) + "\n"


def _stale(what: str, target: str) -> Finding:
    return Finding(
        rule="human-input-unmatched",
        message=f"human input names {what}, which this build did not produce",
        suggestion="update or remove that input (retroflow input list, or the .retro.toml file)",
        target="retro" if target == "factor" else target,
        severity="info",
    )


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _quoted(text: str) -> str:
    return f"“{_one_line(text)}”"


def _when(at: datetime) -> str:
    return format_timestamp(at).replace("T", " ")[:16] + "Z"


def _described(fields: Mapping[str, Any], verify: Mapping[str, str]) -> list[str]:
    """``name value`` for each field an input item sets, in words (describe())."""
    said = []
    for name, value in _jsonable(fields).items():
        said.append(f"{name} {_quoted(value) if name in ('title', 'change') else value}")
    said.extend(f"verify {part} {_quoted(value)}" for part, value in verify.items())
    return said


def _incomplete(action_id: str, parts: Sequence[str]) -> Finding:
    return Finding(
        rule="human-input-incomplete",
        message=f"human input gives action {action_id!r} a verification {' and '.join(parts)} but no metric, "
        "and the action has none, so it was not applied",
        suggestion="add the metric: retroflow input action INCIDENT ID --verify-metric TEXT, or verify.metric "
        "in the .retro.toml file",
        target=action_id,
    )


def _drop_empty(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v not in (None, "", (), [], {})}


def _jsonable(data: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, date):
            value = value.isoformat()
        elif isinstance(value, enum.Enum):
            value = value.value
        elif isinstance(value, Mapping):
            value = dict(value)
        elif isinstance(value, tuple):
            value = list(value)
        out[key] = value
    return out


def _tables(data: Mapping[str, Any], name: str, where: str) -> Sequence[Mapping[str, Any]]:
    value = data.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ValueError(f"{where}: {name}: expected [[{name}]] tables")
    return value


def _known(entry: Mapping[str, Any], keys: set[str], where: str) -> None:
    unknown = sorted(set(entry) - keys)
    if unknown:
        raise ValueError(f"{where}: unknown key {unknown[0]!r} (expected one of: {', '.join(sorted(keys))})")


def _required(entry: Mapping[str, Any], key: str, where: str) -> Any:
    value = entry.get(key)
    if value in (None, ""):
        raise ValueError(f"{where}: {key} is required")
    return value


def _make(where: str, cls: type[T], **kwargs: Any) -> T:
    try:
        return cls(**kwargs)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{where}: {exc}") from None


def _verdict_of(entry: Mapping[str, Any], at: str) -> FactorVerdict:
    """A ``[[factors]]`` entry; errors name ``at``."""
    _known(entry, {"key", "status", "reason", "author"}, at)
    return _make(
        at,
        FactorVerdict,
        key=_required(entry, "key", at),
        status=entry.get("status", ""),
        reason=entry.get("reason", ""),
        author=entry.get("author", ""),
    )


def _event_of(entry: Mapping[str, Any], at: str) -> AddedEvent:
    """An ``[[events]]`` entry; errors name ``at``."""
    _known(entry, {"at", "kind", "summary", "why", "actor", "id", "author"}, at)
    when = entry.get("at")
    if isinstance(when, str):
        try:
            when = parse_timestamp(when)
        except ValueError as exc:
            raise ValueError(f"{at}: at: {exc}") from None
    if not isinstance(when, datetime):
        raise ValueError(f"{at}: at: expected a timestamp with an offset, e.g. 2026-11-02T14:05:00Z")
    return _make(
        at,
        AddedEvent,
        at=when,
        kind=_required(entry, "kind", at),
        summary=_required(entry, "summary", at),
        why=entry.get("why", ""),
        actor=entry.get("actor"),
        id=str(entry.get("id", "")),
        author=entry.get("author", ""),
    )


def _action_of(entry: Mapping[str, Any], at: str) -> ActionEdit | NewAction:
    """An ``[[actions]]`` entry: an edit of an action by its ``id``, or a new action (no
    ``id``, or ``new = true``); errors name ``at``."""
    keys = {"id", "new", "title", "change", "owner", "effort", "due", "category", "verify", "factors", "author"}
    _known(entry, keys, at)
    due = entry.get("due")
    if isinstance(due, datetime):
        due = due.date()
    fields = {k: entry[k] for k in ("title", "change", "owner", "effort", "category", "verify") if k in entry}
    if "id" in entry and not entry.get("new", False):
        if "factors" in entry:
            raise ValueError(f"{at}: factors can be given for a new action only (add new = true)")
        return _make(at, ActionEdit, action_id=str(entry["id"]), due=due, author=entry.get("author", ""), **fields)
    _required(entry, "title", at)
    return _make(
        at,
        NewAction,
        id=str(entry.get("id", "")),
        due=due,
        factors=tuple(entry.get("factors", ())),
        author=entry.get("author", ""),
        **fields,
    )


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):  # an inline table; keys are retroflow's own (bare) names
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    text = str(value)
    escaped = (
        text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    )
    escaped = "".join(c if c >= " " or c in "\\" else f"\\u{ord(c):04x}" for c in escaped)
    return f'"{escaped}"'


def input_file_path(config: Config, incident_id: str) -> Path:
    """Where the retro-as-code file of ``incident_id`` lives: ``[retroflow] input_dir``
    (default ``retros``, relative to the config file) / ``<INCIDENT>.retro.toml``."""
    directory = Path(getattr(config.engine, "input_dir", None) or "retros")
    if not directory.is_absolute():
        directory = config.base_dir / directory
    return directory / f"{incident_file_stem(incident_id)}.retro.toml"


def load_input_file(path: Path) -> HumanInput:
    """Read a retro-as-code file; a missing file is no input.

    :raises ConfigError: the file is not valid TOML or not valid input (names the entry).
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return HumanInput()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    try:
        return HumanInput.from_data(data, where=str(path))
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


#: The name the events people added are collected under (gaps and progress name it).
HUMAN_INPUT = "human-input"


def build_with_input(
    request: RetroRequest,
    human: HumanInput,
    *,
    plugins: Plugins,
    config: Config,
    progress: Progress | None = None,
    past_actions: PastActionsLookup | None = None,
) -> Retro:
    """Build a retro with ``human`` input applied: added events are given to the engine as
    a first-round source's result (before factors are found), the rest by ``amend``.
    ``past_actions`` is passed on to :func:`~retroflow.engine.build_retro`.

    Nothing is registered on ``plugins``: builds running at once, each with its own input,
    share one plugin manager safely."""
    given = [(HUMAN_INPUT, SourceResult(events=human.timeline_events()))] if human.events else []
    kwargs: dict[str, Any] = {"progress": progress} if progress is not None else {}
    return build_retro(
        request, plugins=plugins, config=config, amend=human.apply, past_actions=past_actions, given=given, **kwargs
    )
