"""Message text: Slack's markup made readable, secrets masked, and what the words say.

* ``<@U024BE7LH>`` becomes ``@Alice`` wherever the name is known; ``<#C024BE91L|ops>``
  becomes ``#ops``; ``<https://…|label>`` becomes ``label (https://…)``; ``&amp;``,
  ``&lt;`` and ``&gt;`` are unescaped.
* Tokens and credentials (``xoxb-…``, ``Bearer …``, ``https://user:pass@…``,
  ``?token=…``) are masked by :func:`retroflow.redact_text`, as in logs.
* A **belief** is a hedged statement about what is going on ("I think", "looks like",
  "probably", "seems", "looks green"); a **decision** is what people chose to do ("let's roll back",
  "decided", "we're going to", "rolling back"), not asked as a question, with its reason
  when the message gives one ("because …", "since …", "due to …", "… so let's …").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

import attrs

from retroflow import redact_text

__all__ = ["Services", "Typing", "readable", "summary_of", "typing_of"]

#: The longest summary; the whole text is kept in ``details["text"]`` when it is longer.
MAX_SUMMARY = 280

_MARKUP = re.compile(r"<([^<>\n]+)>")
_ENTITIES = {"&lt;": "<", "&gt;": ">", "&amp;": "&"}
_ENTITY = re.compile(r"&(?:lt|gt|amp);")
_SPACE = re.compile(r"\s+")

_BELIEF = re.compile(
    r"\b(?:i (?:think|believe|suspect|guess|reckon)|my (?:guess|bet)|seem(?:s|ed)?|seemingly|probably"
    r"|look(?:s|ed)? (?:like|green|fine|ok|okay|good|normal|healthy|clean|bad|off|wrong|related)"
    r"|likely|might be|pretty sure|i'?m fairly sure|suspect(?:ed|s)?)\b",
    re.IGNORECASE,
)
_REMEDIES = r"(?:roll(?:ing)? ?back|revert|restart|fail ?over|disable|enable|deploy|redeploy|scale|pause|drain|block|page|escalate|rotate|flip|turn off|turn on)"
_DECISION = re.compile(
    r"\blet'?s\s+(?!see\b|not\b|hope\b|wait and see\b)\w+"
    r"|\blet us\s+(?!see\b|know\b)\w+"
    r"|\bdecided\b|\bdecision(?: is|:)"
    r"|\b(?:i|we)\s*(?:'m|’m|'re|’re| am| are)\s+(?:going to|gonna)\b"
    r"|\bgoing to " + _REMEDIES + r"\b"
    r"|\b(?:i|we)(?:'ll|’ll| will)\s+(?!see\b|know\b|need\b|have\b|be\b|probably\b)" + _REMEDIES + r"\b"
    r"|\b(?:rolling back|reverting|failing over)\b",
    re.IGNORECASE,
)
_REASON_AFTER = re.compile(
    r"\b(?:because(?: of)?|since(?! \d)|due to|given that|as (?:it|the|we|this)\b|b/c|cause)\s+(?P<why>.+)",
    re.IGNORECASE,
)
_REASON_BEFORE = re.compile(
    r"(?P<why>.+?),?\s+so\s+(?:let'?s|we|i)\b",
    re.IGNORECASE,
)
#: Sentences end at . ! or ? before a space (not inside "v2.14.0"), or at a line break.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


def readable(text: str, name_of: Callable[[str], str | None]) -> str:
    """``text`` with Slack's markup resolved (``name_of(user_id)`` gives a person's name,
    or ``None``) and secrets masked."""
    if "<" in text:
        text = _MARKUP.sub(lambda match: _resolve(match.group(1), name_of), text)
    if "&" in text:
        text = _ENTITY.sub(lambda match: _ENTITIES[match.group(0)], text)
    return redact_text(text)


def _resolve(inner: str, name_of: Callable[[str], str | None]) -> str:
    target, _, label = inner.partition("|")
    if target.startswith("@"):
        return "@" + (name_of(target[1:]) or label.lstrip("@") or target[1:])
    if target.startswith("#"):
        return "#" + (label or target[1:])
    if target.startswith("!"):
        if label:  # <!subteam^S0123|@oncall>, <!date^1392734382^{date}|Feb 18, 2014>
            return label
        return "@" + target[1:].split("^")[0]
    if label and label != target and not target.startswith("mailto:"):
        return f"{label} ({target})"
    return label or target.removeprefix("mailto:")


def summary_of(text: str) -> str:
    """One line a person can read: whitespace collapsed, at most :data:`MAX_SUMMARY`
    characters."""
    line = _SPACE.sub(" ", text).strip()
    return line if len(line) <= MAX_SUMMARY else line[: MAX_SUMMARY - 1].rstrip() + "…"


@attrs.frozen
class Typing:
    """What a message's words say: a belief, a decision (and why), or neither."""

    belief: bool = False
    decision: bool = False
    why: str | None = None


_PLAIN = Typing()


def typing_of(text: str) -> Typing:
    """Read a message's words (see the module docstring)."""
    belief = _BELIEF.search(text) is not None
    sentences = [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]
    decided = next((s for s in sentences if _DECISION.search(s) and not s.endswith("?")), None)
    if decided is None:
        return Typing(belief=True) if belief else _PLAIN
    return Typing(belief=belief, decision=True, why=_reason([decided, *sentences]))


def _reason(sentences: list[str]) -> str | None:
    """The reason the decision's sentence gives, else the first one another sentence gives."""
    for sentence in sentences:
        match = _REASON_AFTER.search(sentence) or _REASON_BEFORE.search(sentence)
        if match:
            why = match.group("why").strip(" ,;:-—.!")
            if why:
                return why
    return None


@attrs.frozen
class Services:
    """Finds the services a text names (whole words, any case), in the order it names them."""

    names: tuple[str, ...]
    _pattern: re.Pattern[str] | None = attrs.field(init=False, repr=False, eq=False)
    _canonical: dict[str, str] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        names = sorted({n for n in self.names if n.strip()}, key=len, reverse=True)
        pattern = None
        if names:
            alternatives = "|".join(re.escape(n) for n in names)
            pattern = re.compile(rf"(?<![\w-])(?:{alternatives})(?![\w-])", re.IGNORECASE)
        object.__setattr__(self, "_pattern", pattern)
        object.__setattr__(self, "_canonical", {n.lower(): n for n in reversed(names)})

    @classmethod
    def of(cls, *groups: Iterable[str]) -> Services:
        seen: dict[str, None] = {}
        for group in groups:
            seen.update(dict.fromkeys(group))
        return cls(tuple(seen))

    def named_in(self, text: str) -> list[str]:
        if self._pattern is None:
            return []
        found: dict[str, None] = {}
        for match in self._pattern.finditer(text):
            found[self._canonical[match.group(0).lower()]] = None
        return list(found)
