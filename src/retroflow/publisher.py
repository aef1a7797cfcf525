"""The :class:`Publisher` of a retro's documents (``retroflow retro`` and the draft job of
``retroflow serve``); exported by :mod:`retroflow.app`, which imports it when first used."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import attrs
import click

from retroflow.app import write_atomically

if TYPE_CHECKING:
    from retroflow.config import Config
    from retroflow.model import Retro
    from retroflow.plugins import Plugins
    from retroflow.roles import Renderer

__all__ = ["Publisher"]


@attrs.define(eq=False)
class Publisher:
    """Renders a retro with every chosen renderer (each isolated, with a timeout), then
    writes the documents: into ``directory``, or the one document to standard output
    (``None``). Rendering all first means a failing renderer writes nothing. The draft job
    of ``retroflow serve`` writes its documents with it too."""

    config: Config
    plugins: Plugins
    renderers: list[Renderer]
    directory: Path | None
    progress: Callable[[str, str], None] = attrs.field(kw_only=True)
    printed: bool = attrs.field(default=False, init=False)

    def __call__(self, retro: Retro) -> None:
        from retroflow.engine import paused_gc, render_document
        from retroflow.filenames import incident_file_stem

        config = self.config
        timeout = config.engine.plugin_timeout
        owner = self.plugins.renderers.owner
        with paused_gc():
            documents = [
                (r, render_document(r, retro, owner=owner(r.name), timeout=timeout, config=config))
                for r in self.renderers
            ]
        if self.directory is None:
            if not self.printed:  # published again only when another build took the version
                click.echo(documents[0][1], nl=False)
                self.printed = True
            return
        for renderer, data in documents:
            target = self.directory / f"{incident_file_stem(retro.incident.id)}.{renderer.extension}"
            write_atomically(target, data)
            self.progress("write", f"wrote {target}")
