"""Incident ids as people type them, and as file names.

Every file named after an incident (its documents, ``<stem>.md``; its retro-as-code file,
``<stem>.retro.toml``) takes its name from :func:`incident_file_stem`, so that two distinct
incidents never share a file.
"""

from __future__ import annotations

import re
import unicodedata

from retroflow.model import stable_id

__all__ = ["MAX_STEM", "check_incident_ref", "incident_file_stem"]

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
#: Longest stem kept from an id (file systems allow 255 bytes for the whole name, and an
#: extension and the hash must still fit).
MAX_STEM = 100


def incident_file_stem(incident_id: str) -> str:
    """The file name, without extension, for ``incident_id``.

    An id that is already a safe name (ASCII letters, digits, ``.``, ``_``, ``-``; not
    starting or ending with ``.`` or ``-``; at most :data:`MAX_STEM` characters) is used as
    it is: ``CHK-1042``. Any other id is cleaned (other characters become ``-``), cut to
    :data:`MAX_STEM` characters, and followed by ``-`` and a short hash of the whole id:
    ``a/b`` is ``a-b-<hash>`` while ``a-b`` stays ``a-b``; ``..`` and names that lose every
    character (``事故``) become ``incident-<hash>``.
    """
    cleaned = _UNSAFE.sub("-", incident_id).strip("-.")[:MAX_STEM].rstrip("-.")
    if cleaned == incident_id:
        return cleaned
    return f"{cleaned or 'incident'}-{stable_id(incident_id)[:10]}"


def check_incident_ref(ref: str) -> str:
    """``ref`` (an incident id, number or URL as typed), if it can name an incident.

    :raises ValueError: it is empty, or holds control characters (a pasted newline or
        escape sequence: no incident system uses them in ids).
    """
    if not ref.strip():
        raise ValueError("the incident id is empty")
    bad = sorted({c for c in ref if unicodedata.category(c) == "Cc"})
    if bad:
        shown = ", ".join(f"U+{ord(c):04X}" for c in bad)
        raise ValueError(f"the incident id {ref!r} holds control characters ({shown})")
    return ref
