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

# Each alternative starts at a word boundary with one of a few letters; saying so up front
# (\b and a lookahead on the first letter) lets the scan skip most positions quickly.
_BELIEF = (
    r"i (?:think|believe|suspect|guess|reckon)\b|my (?:guess|bet)\b|seem(?:s|ed)?\b|seemingly\b|probably\b"
    r"|look(?:s|ed)? (?:like|green|fine|ok|okay|good|normal|healthy|clean|bad|off|wrong|related)\b"
    r"|likely\b|might be\b|pretty sure\b|i'?m fairly sure\b|suspect(?:ed|s)?\b"
)
_REMEDIES = r"(?:roll(?:ing)? ?back|revert|restart|fail ?over|disable|enable|deploy|redeploy|scale|pause|drain|block|page|escalate|rotate|flip|turn off|turn on)"
_DECISION = (
    r"let'?s\s+(?!see\b|not\b|hope\b|wait and see\b)\w+"
    r"|let us\s+(?!see\b|know\b)\w+"
    r"|decided\b|decision(?: is|:)"
    r"|(?:i|we)\s*(?:'m|’m|'re|’re| am| are)\s+(?:going to|gonna)\b"
    r"|going to " + _REMEDIES + r"\b"
    r"|(?:i|we)(?:'ll|’ll| will)\s+(?!see\b|know\b|need\b|have\b|be\b|probably\b)" + _REMEDIES + r"\b"
    r"|(?:rolling back|reverting|failing over)\b"
)
#: Both cues in one pattern: a message is scanned once (it is most of the source's work).
_CUES = re.compile(
    rf"\b(?=[dfgilmprsw])(?:(?P<belief>{_BELIEF})|(?P<decision>{_DECISION}))",
    re.IGNORECASE,
)
_REASON_AFTER = re.compile(
    r"\b(?=[abcdgs])(?:because(?: of)?|since(?! \d)|due to|given that|as (?:it|the|we|this)\b|b/c|cause)\s+(?P<why>.+)",
    re.IGNORECASE,
)
_SO_THEN = re.compile(r",?\s+so\s+(?:let'?s|we|i)\b", re.IGNORECASE)
#: Sentences end at . ! or ? before a space or the end (not inside "v2.14.0"), or at a line
#: break.
_STOP = re.compile(r"[.!?](?=\s|$)|\n")


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
    line = " ".join(text.split())
    return line if len(line) <= MAX_SUMMARY else line[: MAX_SUMMARY - 1].rstrip() + "…"


@attrs.frozen
class Typing:
    """What a message's words say: a belief, a decision (and why), or neither."""

    belief: bool = False
    decision: bool = False
    why: str | None = None


_PLAIN = Typing()
_BELIEF_ONLY = Typing(belief=True)


#: Words one of the cues holds; a message holding none is plain (cheaper than the scan).
_CUE_WORDS = (
    "think", "believe", "suspect", "guess", "reckon", "bet", "seem", "probabl", "look", "likely", "might",
    "sure", "let", "decid", "decision", "going", "gonna", "'ll", "’ll", "will", "rolling", "revert", "failing",
)  # fmt: skip
# Searched in the lower-cased text: a case-sensitive alternation of literals skips ahead by
# first character, several times faster than any(word in text ...) or re.IGNORECASE.
_CUE_HINT = re.compile("|".join(re.escape(word) for word in _CUE_WORDS))


def typing_of(text: str) -> Typing:
    """Read a message's words (see the module docstring)."""
    if _CUE_HINT.search(text.lower()) is None:
        return _PLAIN
    belief = False
    decided: str | None = None
    for match in _CUES.finditer(text):
        if match.group("belief") is not None:
            belief = True
        elif decided is None:
            sentence = _sentence_at(text, match.start(), match.end())
            if not sentence.endswith("?"):
                decided = sentence
        if belief and decided is not None:
            break
    if decided is None:
        return _BELIEF_ONLY if belief else _PLAIN
    return Typing(belief=belief, decision=True, why=_reason([decided, *_sentences(text)]))


def _sentences(text: str) -> list[str]:
    out, start = [], 0
    for stop in _STOP.finditer(text):
        out.append(text[start : stop.end()].strip())
        start = stop.end()
    out.append(text[start:].strip())
    return [sentence for sentence in out if sentence]


def _sentence_at(text: str, start: int, end: int) -> str:
    """The sentence holding ``text[start:end]``, with its closing mark."""
    before = 0
    for stop in _STOP.finditer(text, 0, start):
        before = stop.end()
    after = _STOP.search(text, end)
    return text[before : after.end() if after else len(text)].strip()


def _reason(sentences: list[str]) -> str | None:
    """The reason the decision's sentence gives, else the first one another sentence gives."""
    for sentence in sentences:
        match = _REASON_AFTER.search(sentence)
        why = match.group("why") if match else None
        if why is None and (so := _SO_THEN.search(sentence)):
            why = sentence[: so.start()]
        why = why.strip(" ,;:-—.!") if why else None
        if why:
            return why
    return None


@attrs.frozen
class Services:
    """Finds the services a text names (whole words, any case), in the order it names them.

    ``str.find`` per name rather than one regular expression: a handful of names are
    looked for in every message, and a regex alternation with look-arounds costs more than
    the rest of the message's mapping."""

    names: tuple[str, ...]
    _lowered: tuple[tuple[str, str], ...] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        unique = {n.lower(): n for n in reversed(self.names) if n.strip()}
        object.__setattr__(self, "_lowered", tuple(sorted(unique.items(), key=lambda item: -len(item[0]))))

    @classmethod
    def of(cls, *groups: Iterable[str]) -> Services:
        seen: dict[str, None] = {}
        for group in groups:
            seen.update(dict.fromkeys(group))
        return cls(tuple(seen))

    def named_in(self, text: str) -> list[str]:
        if not self._lowered:
            return []
        lower = text.lower()
        found: list[tuple[int, str]] = []
        taken: list[tuple[int, int]] = []  # spans of longer names already found
        for name, canonical in self._lowered:
            at = lower.find(name)
            while at != -1:
                end = at + len(name)
                if _word_edge(lower, at - 1) and _word_edge(lower, end) and not _inside(taken, at, end):
                    found.append((at, canonical))
                    taken.append((at, end))
                    break
                at = lower.find(name, at + 1)
        return [canonical for _, canonical in sorted(found)]


def _word_edge(text: str, index: int) -> bool:
    """Whether ``text[index]`` (or the text's edge) separates words: not a letter, digit, _ or -."""
    return index < 0 or index >= len(text) or not (text[index].isalnum() or text[index] in "_-")


def _inside(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    return any(a <= start and end <= b for a, b in spans)
