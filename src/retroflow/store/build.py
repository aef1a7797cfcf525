"""Building a retro with its human input applied, and storing it as a new version: what
``retroflow retro``, the store's commands (:mod:`retroflow.commands.store`) and the
service's draft job share."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from retroflow.config import Config
from retroflow.engine import Progress, describe_gap
from retroflow.errors import RetroflowError
from retroflow.model import Retro
from retroflow.plugins import Plugins
from retroflow.request import RetroRequest
from retroflow.store.human import HumanInput, build_with_input, input_file_path, load_input_file

if TYPE_CHECKING:
    from retroflow.store.store import InTransaction, Store

# The database modules (SQLAlchemy) are imported only when a build is stored.

__all__ = ["Publish", "build_and_store", "effective_input", "input_file_for", "store_for"]


def store_for(config: Config, *, create: bool = True) -> Store:
    """Open (and migrate) the store ``config`` names; ``create`` as in :func:`open_store`."""
    from retroflow.store.database import database_url, open_store

    return open_store(database_url(config), create=create)


def effective_input(config: Config, incident_id: str, store: Store | None, *, ref: str | None = None) -> HumanInput:
    """The human input a build applies: the store's records, then the retro-as-code file
    (which wins, being the reviewed copy). The file is the incident id's, or, when there
    is none, that of ``ref``, the reference the user typed (``1042`` for a PagerDuty id)."""
    stored = store.human_input(incident_id) if store is not None else HumanInput()
    return stored.merged_with(load_input_file(input_file_for(config, incident_id, ref)))


def input_file_for(config: Config, incident_id: str, ref: str | None = None) -> Path:
    """The retro-as-code file of ``incident_id``, else of ``ref`` when only that exists."""
    path = input_file_path(config, incident_id)
    if ref is not None and ref != incident_id and not path.exists():
        by_ref = input_file_path(config, ref)
        if by_ref.exists():
            return by_ref
    return path


#: Writes a built retro's documents (the CLI's renderers and files).
Publish = Callable[[Retro], None]

#: How many times a build publishes again under a newer version number when other builds
#: of the same incident stored theirs first.
_VERSION_ATTEMPTS = 3


def _no_documents(retro: Retro) -> None:
    pass


def build_and_store(
    request: RetroRequest,
    *,
    plugins: Plugins,
    config: Config,
    progress: Progress,
    store: bool = True,
    publish: Publish = _no_documents,
    in_transaction: InTransaction | None = None,
) -> Retro:
    """Build a retro with the human input applied and the verdicts of past done actions on
    its services, ``publish`` it (write its documents), then, unless ``store`` is false,
    save it as a new version. Without the store only the retro-as-code file is applied, and
    past actions are not looked up. ``in_transaction`` as in
    :meth:`Store.save_retro`.

    The version is saved only after ``publish`` returned, so a build whose documents could
    not be written (a failing renderer, a full disk, Ctrl-C) leaves no version behind; and
    the database is created only then, so a build that fails creates none.
    """
    if not store:
        human = effective_input(config, request.incident_ref, None)
        retro = _with_events(build_with_input(request, human, plugins=plugins, config=config, progress=progress))
        publish(retro)
        return retro
    from retroflow.store.database import NothingStored, database_url, describe_url, open_store
    from retroflow.store.store import VersionTaken

    url = database_url(config)
    try:
        opened: Store | None = open_store(url, create=False)
    except NothingStored:
        opened = None
    try:
        incident_id = opened.resolve_incident(request.incident_ref) if opened else request.incident_ref
        human = effective_input(config, incident_id, opened, ref=request.incident_ref)
        retro = _built(request, human, opened, plugins, config, progress)
        version = opened.next_version(retro.incident.id) if opened else 1
        for attempt in range(1, _VERSION_ATTEMPTS + 1):
            retro = attrs.evolve(retro, version=version)
            publish(retro)
            opened = opened or open_store(url)
            try:
                opened.save_retro(
                    retro, request.incident_ref, human=human, version=version, in_transaction=in_transaction
                )
                break
            except VersionTaken:
                if attempt == _VERSION_ATTEMPTS:
                    raise
                version = opened.next_version(retro.incident.id)
    finally:
        if opened is not None:
            opened.close()
    progress("store", f"stored version {version} of {retro.incident.id} in {describe_url(url)}")
    return retro


def _built(
    request: RetroRequest, human: HumanInput, opened: Store | None, plugins: Plugins, config: Config, progress: Progress
) -> Retro:
    """The retro with ``human`` input applied and the verdicts of past done actions the
    store knows (none before anything is stored)."""
    from retroflow.outcomes.report import past_actions_lookup

    if human:
        progress("input", f"applying human input ({_describe(human)})")
    lookup = past_actions_lookup(opened, config, plugins)
    retro = build_with_input(request, human, plugins=plugins, config=config, progress=progress, past_actions=lookup)
    return _with_events(retro)


def _with_events(retro: Retro) -> Retro:
    """``retro``, unless its timeline is empty: a retro of no events would be written and
    stored as if it were one, replacing a good one (an empty or misspelt event file).

    :raises RetroflowError: naming the data gaps that explain it.
    """
    if retro.timeline.events:
        return retro
    lines = [f"the timeline of incident {retro.incident.id!r} is empty: no retro was written or stored"]
    lines += [f"  data gap: {describe_gap(gap)}" for gap in retro.gaps]
    if not retro.gaps:
        lines.append("  (the sources answered without a single event: is an event file empty?)")
    raise RetroflowError("\n".join(lines))


def _describe(human: HumanInput) -> str:
    parts = [
        (len(human.factors), "factor verdict"),
        (len(human.events), "event"),
        (len(human.edits), "action edit"),
        (len(human.new_actions), "new action"),
    ]
    return ", ".join(f"{n} {word}{'s' if n != 1 else ''}" for n, word in parts if n)
