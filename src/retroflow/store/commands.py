"""What the CLI does with the store; the commands themselves are in
:mod:`retroflow.default_plugins.store_commands`."""

from __future__ import annotations

from pathlib import Path

import attrs

from retroflow.config import Config
from retroflow.engine import Progress
from retroflow.model import Retro
from retroflow.outcomes.report import past_actions_lookup
from retroflow.plugins import Plugins
from retroflow.request import RetroRequest
from retroflow.store.database import database_url, describe_url, open_store
from retroflow.store.human import HumanInput, build_with_input, input_file_path, load_input_file
from retroflow.store.store import Store

__all__ = ["build_and_store", "effective_input", "input_file_for", "store_for"]


def store_for(config: Config) -> Store:
    """Open (and migrate) the store ``config`` names."""
    return open_store(database_url(config))


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


def build_and_store(
    request: RetroRequest,
    *,
    plugins: Plugins,
    config: Config,
    progress: Progress,
    store: bool = True,
) -> Retro:
    """Build a retro with the human input applied and (unless ``store`` is false) save it
    as a new version, with the verdicts of past done actions on its services. Without the
    store only the retro-as-code file is applied, and past actions are not looked up."""
    if not store:
        human = effective_input(config, request.incident_ref, None)
        return build_with_input(request, human, plugins=plugins, config=config, progress=progress)
    url = database_url(config)
    with open_store(url) as opened:
        incident_id = opened.resolve_incident(request.incident_ref)
        human = effective_input(config, incident_id, opened, ref=request.incident_ref)
        if human:
            progress("input", f"applying human input ({_describe(human)})")
        retro = build_with_input(
            request,
            human,
            plugins=plugins,
            config=config,
            progress=progress,
            past_actions=past_actions_lookup(opened, config, plugins),
        )
        version = opened.save_retro(retro, request.incident_ref, human=human)
    progress("store", f"stored version {version} of {retro.incident.id} in {describe_url(url)}")
    return attrs.evolve(retro, version=version)


def _describe(human: HumanInput) -> str:
    parts = [
        (len(human.factors), "factor verdict"),
        (len(human.events), "event"),
        (len(human.edits), "action edit"),
        (len(human.new_actions), "new action"),
    ]
    return ", ".join(f"{n} {word}{'s' if n != 1 else ''}" for n, word in parts if n)
