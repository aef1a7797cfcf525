"""retroflow's store: incidents, retro versions, human input, the export outbox.

SQLite by default (a file, in WAL mode), any PostgreSQL by URL. The schema is built and
upgraded by the Alembic migrations shipped in ``retroflow/store/migrations``;
:func:`open_store` runs them.

Public API::

    store = open_store("sqlite:///retroflow.db")      # or postgresql://...
    version = store.save_retro(retro, request_ref="CHK-1042")
    retro = store.latest_retro("CHK-1042")
    store.add_input("CHK-1042", FactorVerdict(key="...", status="rejected", reason="..."))
    human = store.human_input("CHK-1042")

and :func:`retroflow.store.exports.export_actions` / :func:`~retroflow.store.exports.sync_status`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from retroflow.lazy import lazy_package

if TYPE_CHECKING:
    from retroflow.store.database import (
        NothingStored,
        database_url,
        default_database,
        describe_url,
        migrate,
        open_store,
    )
    from retroflow.store.exports import ExportReport, export_actions, export_key, sync_status
    from retroflow.store.human import (
        ActionEdit,
        AddedEvent,
        FactorVerdict,
        HumanInput,
        NewAction,
        build_with_input,
        load_input_file,
    )
    from retroflow.store.store import FollowUp, RetroSummary, Store, VersionSummary

# Imported when first asked for: `from retroflow.store.human import ...` (a build without
# the store) does not import SQLAlchemy.
__getattr__, __dir__ = lazy_package(
    __name__,
    {
        "retroflow.store.database": (
            "NothingStored",
            "database_url",
            "default_database",
            "describe_url",
            "migrate",
            "open_store",
        ),
        "retroflow.store.exports": ("ExportReport", "export_actions", "export_key", "sync_status"),
        "retroflow.store.human": (
            "ActionEdit",
            "AddedEvent",
            "FactorVerdict",
            "HumanInput",
            "NewAction",
            "build_with_input",
            "load_input_file",
        ),
        "retroflow.store.store": ("FollowUp", "RetroSummary", "Store", "VersionSummary"),
    },
)


__all__ = [
    "ActionEdit",
    "AddedEvent",
    "ExportReport",
    "FactorVerdict",
    "FollowUp",
    "HumanInput",
    "NewAction",
    "NothingStored",
    "RetroSummary",
    "Store",
    "VersionSummary",
    "build_with_input",
    "database_url",
    "default_database",
    "describe_url",
    "export_actions",
    "export_key",
    "load_input_file",
    "migrate",
    "open_store",
    "sync_status",
]
