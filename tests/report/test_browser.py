"""The HTML report in a real headless Chromium: nothing fetched, no console errors, chart
marks that land on their rows by mouse and keyboard, light, dark and print.

Screenshots go under each test's tmp dir; ``RETROFLOW_DOCS_SCREENSHOTS=1`` writes them to
``docs/img/`` too (the documentation's pictures are made here)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from retroflow.default_plugins.renderers.html import render_html
from retroflow.model import Retro

from .conftest import save_screenshot

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def report_file(example_retro: Retro, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("report") / "CHK-1042.html"
    path.write_text(render_html(example_retro), encoding="utf-8")
    return path


class Opened:
    """A page with the report open, and what it asked for and logged."""

    def __init__(self, page: Any, url: str) -> None:
        self.page = page
        self.url = url
        self.requests: list[str] = []
        self.console: list[tuple[str, str]] = []
        self.errors: list[str] = []
        page.on("request", lambda request: self.requests.append(request.url))
        page.on("console", lambda message: self.console.append((message.type, message.text)))
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.goto(url)


@pytest.fixture
def opened(browser: Any, report_file: Path) -> Iterator[Opened]:
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    try:
        yield Opened(context.new_page(), report_file.as_uri())
    finally:
        context.close()


def test_the_report_asks_for_nothing_and_logs_no_error(opened: Opened, tmp_path: Path) -> None:
    opened.page.wait_for_load_state("load")
    assert opened.requests == [opened.url], "a file report makes no request but its own"
    assert [text for kind, text in opened.console if kind in ("error", "warning")] == []
    assert opened.errors == []
    assert opened.page.locator("svg.timeline-chart a.mark").count() > 20
    save_screenshot(opened.page, "report-opened", tmp_path, docs=False)


def test_clicking_a_chart_mark_lands_on_its_row(opened: Opened, tmp_path: Path) -> None:
    page = opened.page
    # The chart spans the incident (the day of git history before it gathered at the left
    # edge), so the decision has a mark of its own and lands on its own row.
    mark = page.locator("svg.timeline-chart a.mark", has=page.locator("title", has_text="Decision: roll back"))
    mark.click()
    assert page.evaluate("location.hash") == "#t-20261107T0253"
    row = page.locator("#t-20261107T0253")
    assert row.evaluate("row => row.matches(':target')")
    assert row.is_visible() and _in_viewport(page, row)
    assert "roll back" in row.inner_text()
    save_screenshot(page, "report-row-target", tmp_path)


def _in_viewport(page: Any, locator: Any) -> bool:
    box = locator.bounding_box()
    height = page.evaluate("window.innerHeight")
    return box is not None and -1 <= box["y"] < height  # sub-pixel rounding


def test_tab_reaches_the_chart_marks_each_named_by_its_title(opened: Opened) -> None:
    page = opened.page
    for _ in range(60):  # the header's and the table of contents' links come first
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.closest('svg') !== null"):
            break
    else:
        pytest.fail("Tab never reached the chart")
    focused = page.evaluate_handle("document.activeElement")
    title = focused.evaluate("el => el.querySelector('title').textContent")
    assert title
    named = page.get_by_role("link", name=title, exact=True)
    assert named.count() >= 1
    assert any(named.nth(i).evaluate("el => el === document.activeElement") for i in range(named.count()))
    href = focused.evaluate("el => el.getAttribute('href')")
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == href
    assert page.locator(href).evaluate("row => row.matches(':target')")


def _background(page: Any) -> tuple[int, ...]:
    color = page.evaluate("getComputedStyle(document.body).backgroundColor")  # "rgb(r, g, b)"
    return tuple(int(part) for part in color[color.index("(") + 1 : -1].split(","))


def test_light_and_dark_follow_the_system(opened: Opened, tmp_path: Path) -> None:
    page = opened.page
    page.emulate_media(color_scheme="light")
    assert sum(_background(page)) > 600
    save_screenshot(page, "report-light", tmp_path)
    for section in ("actions", "meeting"):
        page.locator(f"#{section}").scroll_into_view_if_needed()
        page.evaluate(f"document.getElementById('{section}').scrollIntoView()")
        save_screenshot(page, f"report-{section}", tmp_path)
    page.emulate_media(color_scheme="dark")
    assert sum(_background(page)) < 150
    save_screenshot(page, "report-dark", tmp_path)
    save_screenshot(page.locator("figure.chart"), "report-chart-dark", tmp_path)


def test_print_hides_the_navigation_and_keeps_the_content(opened: Opened, tmp_path: Path) -> None:
    page = opened.page
    assert page.locator("nav.toc").is_visible()
    page.emulate_media(media="print", color_scheme="dark")
    assert not page.locator("nav.toc").is_visible()
    assert sum(_background(page)) > 600, "paper is white, whatever the screen's scheme"
    kind = page.locator("#timeline-table .kind").first.evaluate("el => getComputedStyle(el).color")
    page.emulate_media(media="print", color_scheme="light")
    assert page.locator("#timeline-table .kind").first.evaluate("el => getComputedStyle(el).color") == kind
    assert page.locator("#timeline-table").is_visible() and page.locator("svg.timeline-chart").is_visible()
    save_screenshot(page, "report-print", tmp_path)
    pdf = tmp_path / "report.pdf"
    page.pdf(path=str(pdf))
    assert pdf.read_bytes().startswith(b"%PDF")
