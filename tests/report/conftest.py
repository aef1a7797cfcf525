"""The HTML report: the example retro rendered once, a parser for its links, and a real
headless Chromium for the browser tests (one per session)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from retroflow.model import Retro

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "contrib" / "examples" / "checkout-outage"
CHROMIUM = os.environ.get("RETROFLOW_CHROMIUM", "/usr/bin/chromium")
#: Set to 1 to have the browser tests write their screenshots into docs/img/ as well.
DOCS_SCREENSHOTS_ENV = "RETROFLOW_DOCS_SCREENSHOTS"
#: Flags that keep Chromium from calling home, so "no request leaves the page" is the page's doing.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def example_retro(example_built: Retro) -> Retro:
    assert example_built.gaps == ()
    return example_built


class Page(HTMLParser):
    """The ids, links and tags of an HTML page."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.hrefs: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.tags.append((tag, found))
        if found.get("id"):
            self.ids.append(str(found["id"]))
        if found.get("href") is not None:
            self.hrefs.append(str(found["href"]))


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, driven by Playwright (never a downloaded browser), with
    a fresh profile (Playwright makes a new temporary user data dir per launch). Skipped,
    saying why, only when Chromium is absent."""
    if shutil.which(CHROMIUM) is None and not Path(CHROMIUM).is_file():
        pytest.skip(f"no Chromium at {CHROMIUM} (Debian: apt-get install chromium; .ci/run installs it)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # part of the test extra: a broken setup, not a missing browser
        pytest.fail("Playwright is not installed (pip install -e '.[test]')")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def save_screenshot(page: Any, name: str, tmp_path: Path, *, docs: bool = True, **options: Any) -> Path:
    """Save a PNG of ``page`` (or of a locator) under the test's tmp dir; with
    ``RETROFLOW_DOCS_SCREENSHOTS=1`` and ``docs``, also as ``docs/img/<name>.png`` (how the
    documentation's screenshots are made)."""
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), **options)
    assert path.stat().st_size > 1000
    if docs and os.environ.get(DOCS_SCREENSHOTS_ENV) == "1":
        target = ROOT / "docs" / "img" / f"{name}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    return path


# -- the served pages (retroflow serve) -----------------------------------------------------

#: The writer of the pages' tests, and their token (set in the environment by ``site_config``).
WRITER, WRITER_TOKEN, TOKEN_ENV = "alice", "alice-s-token-7f3e9b2c", "RETROFLOW_TEST_WRITER_TOKEN"


def site_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, auth: str | None = None) -> tuple[Any, Any]:
    """A config and plugins for ``retroflow serve``'s pages: the example's events and incident
    (the file source), a database and output under ``tmp_path``, the HTML format, and
    ``[service.auth]`` (default: the test writer's token; ``""``: none)."""
    from retroflow.testing import make_config, make_plugins

    monkeypatch.setenv(TOKEN_ENV, WRITER_TOKEN)
    if auth is None:
        auth = f'tokens = [{{user = "{WRITER}", token = "env:{TOKEN_ENV}"}}]'
    text = (
        f'[retroflow]\ndatabase = "sqlite:///{tmp_path / "retroflow.db"}"\noutput = "out"\nformats = ["html"]\n'
        f'[plugins.file]\nevents = ["{EXAMPLE / "events.jsonl"}"]\nincident = "{EXAMPLE / "incident.json"}"\n'
        f"[service.auth]\n{auth}\n"
    )
    plugins = make_plugins()
    return make_config(text, plugins=plugins, base_dir=tmp_path), plugins


def store_retro(config: Any, plugins: Any, incident: str = "CHK-1042") -> Retro:
    """Build and store the retro of ``incident`` as ``retroflow retro`` does."""
    from retroflow.request import RetroRequest
    from retroflow.store.build import build_and_store

    return build_and_store(RetroRequest(incident), plugins=plugins, config=config, progress=lambda *_: None)
