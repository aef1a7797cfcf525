"""``retroflow serve``'s pages in a real headless Chromium, the app on a free loopback port:
nothing fetched from elsewhere, no console errors, a factor rejected through the form and
shown rejected (by whom, why) once the rebuild job stored the next version, an anonymous
POST refused, the forms reached by keyboard, data holding ``<script>`` shown as text.

Screenshots go under each test's tmp dir; ``RETROFLOW_DOCS_SCREENSHOTS=1`` writes them to
``docs/img/`` too (``docs/html.md`` shows them)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from retroflow.store.build import store_for
from retroflow.testing import RunningService, running_service

from .conftest import WRITER, WRITER_TOKEN, save_screenshot, site_config, store_retro

pytestmark = pytest.mark.browser

#: Seconds to wait for the rebuild job (a build of the example, on a busy machine).
REBUILD_WAIT_MS = 60_000


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningService]:
    config, plugins = site_config(tmp_path, monkeypatch)
    store_retro(config, plugins)
    with running_service(config, plugins, workers=1) as running:
        yield running


class Tab:
    """A browser tab on the site, and what it asked for and logged."""

    def __init__(self, context: Any, base: str) -> None:
        self.base = base
        self.page = context.new_page()
        self.requests: list[str] = []
        self.console: list[tuple[str, str]] = []
        self.errors: list[str] = []
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.on("console", lambda message: self.console.append((message.type, message.text)))
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))

    def open(self, path: str) -> Any:
        answer = self.page.goto(self.base + path)
        self.page.wait_for_load_state("load")
        return answer

    def assert_clean(self) -> None:
        """Every request went to the site itself; nothing was logged as an error."""
        foreign = [url for url in self.requests if not url.startswith(self.base + "/") and not url.startswith("data:")]
        assert foreign == [], "no request leaves the page's origin"
        assert [text for kind, text in self.console if kind in ("error", "warning")] == []
        assert self.errors == []

    def sign_in(self) -> None:
        self.open("/signin")
        self.page.get_by_label("Token").fill(WRITER_TOKEN)
        self.page.get_by_role("button", name="Sign in").click()
        self.page.wait_for_url(self.base + "/")
        assert f"Writing as {WRITER}" in self.page.locator(".who").inner_text()


@pytest.fixture
def tab(browser: Any, server: RunningService) -> Iterator[Tab]:
    context = browser.new_context(viewport={"width": 1200, "height": 800})
    try:
        yield Tab(context, server.url)
    finally:
        context.close()


def test_every_page_opens_with_nothing_fetched_from_elsewhere_and_no_error(tab: Tab, tmp_path: Path) -> None:
    for path, name in (
        ("/", "pages-retros"),
        ("/retros/CHK-1042", "pages-retro"),
        ("/followups", "pages-followups"),
        ("/outcomes", "pages-outcomes"),
        ("/signin", "pages-signin"),
    ):
        assert tab.open(path).status == 200, path
        assert tab.page.locator("nav[aria-label=Site]").is_visible()
        save_screenshot(tab.page, name, tmp_path, docs=name != "pages-signin")
    assert tab.page.evaluate("document.scripts.length") == 0
    tab.assert_clean()


def test_a_factor_rejected_through_the_form_shows_as_rejected_with_who_and_why(tab: Tab, tmp_path: Path) -> None:
    tab.sign_in()
    tab.open("/retros/CHK-1042")
    factor = tab.page.locator("#f-detection-gap")
    assert "Confirm or reject detection-gap" in factor.locator("form").get_attribute("aria-label")
    reason = "The alert fired on time; <b>see the graph</b>"
    factor.get_by_label("Reason").fill(reason)
    save_screenshot(factor, "pages-factor-form", tmp_path)
    factor.get_by_role("button", name="Reject").click()
    tab.page.wait_for_url("**/retros/CHK-1042?after=1&at=f-detection-gap*")
    # The page reloads (meta refresh) until the rebuild job has stored version 2.
    rejected = tab.page.locator("article.factor.rejected#f-detection-gap")
    rejected.wait_for(timeout=REBUILD_WAIT_MS)
    assert f"rejected by {WRITER}: “{reason}”" in rejected.inner_text()
    assert "this is version 2" in tab.page.locator("[role=status]").inner_text()
    assert tab.page.locator("#versions").get_by_text("Changes since version 1").is_visible()
    save_screenshot(tab.page, "pages-factor-rejected", tmp_path)
    save_screenshot(tab.page.locator("#versions"), "pages-versions", tmp_path)
    tab.assert_clean()


def test_an_anonymous_post_is_refused_and_changes_nothing(tab: Tab, server: RunningService) -> None:
    tab.open("/retros/CHK-1042")
    assert tab.page.locator("form[method=post]").count() == 0, "a reader is shown no write form"
    assert tab.page.get_by_role("link", name="Sign in").first.is_visible()
    csrf = next(c["value"] for c in tab.page.context.cookies() if c["name"] == "retroflow_csrf")
    answer = tab.page.request.post(
        tab.base + "/retros/CHK-1042/factors",
        form={"key": "detection-gap", "status": "rejected", "reason": "x", "csrf": csrf},
        max_redirects=0,
    )
    assert answer.status == 403
    with store_for(server.service.config) as store:
        assert store.input_records("CHK-1042") == []
    tab.assert_clean()


def _tab_to(tab: Tab, matches: str, limit: int = 400) -> int:
    """Press Tab until the focused element matches the CSS selector ``matches``; how many."""
    for count in range(1, limit + 1):
        tab.page.keyboard.press("Tab")
        if tab.page.evaluate(f"document.activeElement.matches({matches!r})"):
            return count
    pytest.fail(f"Tab never reached {matches}")


def test_the_keyboard_signs_in_and_reaches_the_forms(tab: Tab, tmp_path: Path) -> None:
    tab.open("/")
    _tab_to(tab, "a[href='/signin']", limit=10)
    tab.page.keyboard.press("Enter")
    tab.page.wait_for_url(tab.base + "/signin")
    _tab_to(tab, "input[name=token]", limit=10)
    tab.page.keyboard.type(WRITER_TOKEN)
    tab.page.keyboard.press("Enter")
    tab.page.wait_for_url(tab.base + "/")
    tab.open("/retros/CHK-1042")
    _tab_to(tab, "#f-blast-radius input[name=reason]")
    assert tab.page.evaluate("document.activeElement.labels[0].textContent.trim()") == "Reason"
    tab.page.keyboard.type("Two services, one database")
    tab.page.keyboard.press("Tab")
    assert tab.page.evaluate("document.activeElement.textContent") == "Confirm"
    tab.page.keyboard.press("Enter")
    confirmed = tab.page.locator("#f-blast-radius .said", has_text=f"confirmed by {WRITER}")
    confirmed.wait_for(timeout=REBUILD_WAIT_MS)
    assert "“Two services, one database”" in confirmed.inner_text()
    _tab_to(tab, "#record form input[name=at]", limit=600)  # on to the add-event form
    tab.assert_clean()


def test_script_in_the_data_is_shown_as_text(tab: Tab, server: RunningService) -> None:
    title = "<script>document.title='pwned'</script> checkout down"
    with store_for(server.service.config) as store:
        retro = store.retro("CHK-1042")
        store.save_retro(attrs.evolve(retro, incident=attrs.evolve(retro.incident, id="XSS-1", title=title)), "XSS-1")
    for path in ("/", "/retros/XSS-1"):
        tab.open(path)
        assert tab.page.evaluate("document.scripts.length") == 0
        assert tab.page.title() != "pwned"
        assert tab.page.get_by_text(title).first.is_visible()
    tab.assert_clean()
