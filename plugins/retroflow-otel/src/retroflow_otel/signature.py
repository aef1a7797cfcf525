"""Message signatures: a log message with what varies between repeats normalised away.

``"Timeout after 3000 ms for order 8812 (req 9f86d081)"`` and ``"Timeout after 12 ms for
order 17 (req d4dd1fc6)"`` are one flood; their signature is ``"Timeout after <*> ms for
order <*> (req <*>)"``. Every token holding a digit — a number, an id, a hex value, a UUID,
an IP address, ``0x1F`` — becomes ``<*>`` (Drain's placeholder), with the hex letters it
starts with (``d4dd1fc6``); words without digits stay, so different messages stay apart.
Only the first 200 characters count: a stack trace's first lines say which flood it is.
"""

from __future__ import annotations

import re

__all__ = ["PLACEHOLDER", "signature"]

PLACEHOLDER = "<*>"
# Starts at a digit, so the regex engine skips ahead to digits: several times faster than
# a pattern that may start at any hex letter (measured in bench/bench_otel.py's file).
_WITH_DIGIT = re.compile(r"[0-9][\w.-]*")
_HEX_LETTERS = "abcdefABCDEF"
_LENGTH = 200


def signature(text: str) -> str:
    """The message ``text`` with every token that holds a digit replaced by ``<*>``."""
    marked = _WITH_DIGIT.sub(PLACEHOLDER, text[:_LENGTH])
    if PLACEHOLDER not in marked:
        return marked
    # A hex id may start with letters ("d4dd1fc6"): the digit-led match left them behind.
    parts = marked.split(PLACEHOLDER)
    last = parts.pop()
    return PLACEHOLDER.join([part.rstrip(_HEX_LETTERS) for part in parts] + [last])
