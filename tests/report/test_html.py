"""The HTML report as a file: self-contained, complete, stable, small, and linked within."""

from __future__ import annotations

import html
import importlib.util
import re
import sys
from pathlib import Path
from typing import Any

import attrs
import pytest
from click.testing import CliRunner

from retroflow.cli import cli
from retroflow.default_plugins.renderers.condense import MAX_ROWS
from retroflow.default_plugins.renderers.html import (
    HtmlRenderer,
    HtmlSettings,
    Tickets,
    agenda,
    render_html,
    stored_tickets,
)
from retroflow.default_plugins.renderers.timeline_chart import BINS, LANES, _moment_levels
from retroflow.errors import ConfigError
from retroflow.model import Event, Factor, Finding, Incident, Retro, Timeline
from retroflow.roles import TicketRef, TicketStatus, document_bytes
from retroflow.testing import build, make_config, make_event, make_incident, make_plugins

from .conftest import EXAMPLE, ROOT, Page


@pytest.fixture(scope="module")
def example_html(example_retro: Retro) -> str:
    return render_html(example_retro)


def _data_links(retro: Retro) -> set[str]:
    return {*retro.incident.links, *(e.link for e in retro.timeline.events if e.link)}


def test_the_example_report_is_one_self_contained_file_under_200_kb(example_retro: Retro, example_html: str) -> None:
    assert len(example_html.encode()) < 200_000
    page = Page(example_html)
    tags = {tag for tag, _ in page.tags}
    assert not tags & {"script", "img", "link", "iframe", "object", "embed"}, "nothing is loaded from elsewhere"
    assert not [attrs_ for _, attrs_ in page.tags if "src" in attrs_ or "srcset" in attrs_]
    assert "@import" not in example_html and "url(" not in example_html
    external = {href for href in page.hrefs if not href.startswith("#")}
    assert external <= _data_links(example_retro), "the only URLs are the links in the data"
    urls = [html.unescape(url) for url in re.findall(r"https?://[^\s\"'<>]+", example_html)]
    assert urls and all(url in _data_links(example_retro) for url in urls), "as written in the data (& is &amp;)"


def test_every_link_inside_the_page_lands_on_something(example_html: str) -> None:
    page = Page(example_html)
    ids = set(page.ids)
    assert len(ids) == len(page.ids), "ids are unique"
    inside = [href[1:] for href in page.hrefs if href.startswith("#")]
    assert inside and set(inside) <= ids


def test_chart_marks_and_evidence_link_to_the_row_holding_their_events(example_retro: Retro, example_html: str) -> None:
    chart = example_html[example_html.index("<svg") : example_html.index("</svg>")]
    marks = re.findall(r'<a class="mark" href="#([^"]+)"><title>([^<]+)</title>', chart)
    assert len(marks) > 20
    deploy = next(m for m in marks if "deploy of v2.14.0 (7a726bb) to production succeeded" in m[1])
    assert deploy[0] == "t-20261107T0152"
    assert not any(text.startswith("902 signals") for _, text in marks), "a flood is binned, not one mark"
    assert any(re.match(r"[\d,]+ signals \d", text) for _, text in marks), "floods are bands with counts"
    detection = example_html[example_html.index('id="f-detection-gap"') :]
    detection = detection[: detection.index("</article>")]
    assert 'href="#t-20261107T0158"' in detection and 'href="#t-20261107T0219"' in detection


def test_the_report_shows_every_part_of_the_retro(example_retro: Retro, example_html: str) -> None:
    text = example_html
    for duration in ("21 min", "22 min", "1 h 16 min", "1 h 34 min"):
        assert f'<span class="value">{duration}</span>' in text
    for layer in ("Technical", "Human", "Process"):
        assert f"<h3>{layer}</h3>" in text
    assert text.count('<article class="action"') == len(example_retro.actions) == 9
    assert "9 actions in one retro (more than 5)" in text, "the more-than-five warning"
    assert "<dt>impact</dt><dd>high</dd>" in text, "the score's inputs"
    assert "not exported" in text
    walk = text[text.index("<strong>Timeline walk</strong>") :]
    assert walk[: walk.index("</tr>")].endswith("<td>bob</td>"), "the first acknowledger walks the timeline"
    assert "Beyond engineering: product, support, SRE." in text
    assert "Which past retro actions measurably improved the system?" in text
    assert '<h2 id="gaps-heading">Data gaps</h2>' in text


def test_same_retro_same_bytes(example_retro: Retro) -> None:
    events, incident = example_retro.timeline.events, example_retro.incident
    rebuilt = build(list(reversed(events)), incident=incident)
    assert render_html(rebuilt).encode() == render_html(example_retro).encode()


def test_text_from_the_data_is_escaped() -> None:
    hostile = '<script>alert("x")</script> & <b>bold</b>'
    retro = build(
        [
            make_event("alert", 0, summary=hostile, native_id="a1", link="https://mon/1?a=1&b=2"),
            make_event("page", 1, actor="<img src=x>", native_id="p1"),
        ],
        incident=make_incident(title=hostile),
    )
    text = render_html(retro)
    assert "<script>" not in text and "<img" not in text and "<b>bold" not in text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in text
    assert 'href="https://mon/1?a=1&amp;b=2"' in text


def test_rejected_conditions_stay_visible_with_who_rejected_them_and_why() -> None:
    retro = build([make_event("deploy", -5, service="checkout"), make_event("signal", 0, service="checkout")])
    factor = retro.factors[0]
    said = {"status": "rejected", "reason": "unrelated <deploy>", "author": "carol"}
    rejected = attrs.evolve(factor, details={**factor.details, "human": said})
    text = render_html(attrs.evolve(retro, factors=retro.factors[1:], rejected_factors=(rejected,)))
    section = text[text.index("<h3>Rejected in review</h3>") :]
    assert f'<span class="title">{factor.title}</span>' in section
    assert "rejected by carol: “unrelated &lt;deploy&gt;”" in section


def test_gaps_are_listed() -> None:
    retro = build([make_event("alert", 0)])
    from retroflow.model import Gap

    text = render_html(attrs.evolve(retro, gaps=(Gap("pagerduty", "collect", "timeout", "no answer in 60 s"),)))
    assert "<strong>pagerduty</strong> (collect, timeout): no answer in 60 s" in text


def test_a_retro_without_events_still_renders() -> None:
    incident = make_incident()
    retro = Retro(incident=incident, timeline=Timeline.from_events([], incident))
    assert retro.timeline.moments.resolve is not None
    text = render_html(retro)
    assert "No events were collected." in text and "<svg" not in text
    assert '<a href="#timeline">2026-11-02 15:00:00</a>' in text, "the resolution, known from the incident"


def _generated(n: int, directory: Path) -> list[Event]:
    """``n`` events as bench/generate.py writes them (the benchmarks' synthetic incident)."""
    spec = importlib.util.spec_from_file_location("bench_generate", ROOT / "bench" / "generate.py")
    assert spec is not None and spec.loader is not None
    generate = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_generate", generate)
    spec.loader.exec_module(generate)
    from retroflow.default_plugins.sources.file import read_events

    events, gap = read_events(generate.write(directory, n) / "events.jsonl")
    assert gap is None
    return events


def test_a_100000_event_retro_stays_condensed_and_under_2_mb(tmp_path: Path) -> None:
    events = _generated(100_000, tmp_path)
    retro = Retro(incident=make_incident(id="BENCH-1"), timeline=Timeline.from_events(events))
    text = render_html(retro)
    assert len(text.encode()) < 2_000_000
    page = Page(text)
    rows = [i for i in page.ids if i.startswith("t-")]
    assert 10 < len(rows) <= MAX_ROWS
    assert text.count('<a class="mark"') <= len(LANES) * BINS
    assert "100,000 events, condensed into" in text


def test_the_meeting_grows_from_60_to_at_most_90_minutes() -> None:
    small = build([make_event("page", 0, actor="bob"), make_event("ack", 5, actor="bob")])
    assert sum(item.minutes for item in agenda(small, 10, HtmlSettings())) == 60
    many = [Factor(key=f"k{i}", layer="process", title="t", explanation="e", evidence=["test:x"]) for i in range(12)]
    big = attrs.evolve(small, factors=tuple(many), actions=small.actions * 1)
    items = agenda(big, 40, HtmlSettings())
    assert sum(item.minutes for item in items) == 60 + 5 + 12
    huge = attrs.evolve(big, factors=tuple(many) * 3)
    assert sum(item.minutes for item in agenda(huge, 40, HtmlSettings())) == 90
    assert [item.start for item in items] == [0, 5, 30, 57, 72]


def test_the_timeline_owner_and_the_roles_to_invite_come_from_config(example_retro: Retro) -> None:
    plugins = make_plugins()
    config = make_config(
        '[plugins.html]\ninvite = ["product", "customer support"]\ntimeline_owner = "carol"\n', plugins=plugins
    )
    text = document_bytes(plugins.renderers.get("html"), example_retro, config).decode()
    walk = text[text.index("<strong>Timeline walk</strong>") :]
    assert walk[: walk.index("</tr>")].endswith("<td>carol</td>")
    assert "Beyond engineering: product, customer support." in text
    # Git names people as their commits do (Alice Moreau), GitHub and Slack by handle (alice).
    assert "Everyone who took part: Frank Osei, Erin Kowalski, Alice Moreau, alice, bob, dana, carol." in text


def test_settings_are_checked_and_errors_name_the_key() -> None:
    plugins = make_plugins()
    with pytest.raises(ConfigError, match=r"\[plugins.html\] invite: expected a list of strings"):
        make_config('[plugins.html]\ninvite = "product"\n', plugins=plugins)


def test_tracker_links_and_states_from_the_store(
    tmp_path: Path, example_retro: Retro, monkeypatch: pytest.MonkeyPatch
) -> None:
    from retroflow.store import export_actions, open_store
    from retroflow.store.fake import FakeTrackerSink

    url = f"sqlite:///{tmp_path / 'store.db'}"
    monkeypatch.delenv("RETROFLOW_DATABASE")
    config = make_config(f'[retroflow]\ndatabase = "{url}"\n', plugins=make_plugins())
    assert stored_tickets(config, "CHK-1042") == Tickets(), "no store yet: no tickets, and none created"
    assert not (tmp_path / "store.db").exists()
    store = open_store(url)
    store.save_retro(example_retro, "CHK-1042")
    sink = FakeTrackerSink()
    export_actions(store, "CHK-1042", sink, config, sleep=lambda _s: None)
    sink.tracker.set_state("FAKE-1", "in progress")
    from retroflow.store.exports import sync_status

    sync_status(store, {"fake": sink}, config)
    store.close()
    tickets = stored_tickets(config, "CHK-1042")
    assert len(tickets.by_action) == 9
    text = HtmlRenderer().render(example_retro, config)
    assert (
        '<a class="ext" href="https://tracker.invalid/FAKE-1">FAKE-1</a> <span class="state">in progress</span>' in text
    )
    assert "not exported" not in text


def test_a_store_that_cannot_be_read_is_a_gap_in_the_report(
    tmp_path: Path, example_retro: Retro, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "broken.db"
    broken.write_bytes(b"this is not a database")
    monkeypatch.setenv("RETROFLOW_DATABASE", f"sqlite:///{broken}")
    config = make_config("", plugins=make_plugins())
    tickets = stored_tickets(config, "CHK-1042")
    assert tickets.problem and "tracker states could not be read" in tickets.problem
    text = render_html(example_retro, tickets=tickets)
    assert "<strong>html</strong> (render, error): tracker states could not be read" in text


def test_ticket_states_render_without_a_store(example_retro: Retro) -> None:
    action = example_retro.actions[0]
    ref = TicketRef(sink="jira", external_id="OPS-7", url=None)
    text = render_html(example_retro, tickets=Tickets(by_action={action.id: (TicketStatus(ref, "done"),)}))
    assert 'OPS-7 <span class="state">done</span>' in text


def test_retroflow_retro_writes_the_html_report(tmp_path: Path, example_config: Path) -> None:
    result = CliRunner().invoke(
        cli, ["-q", "--config", str(example_config), "retro", "CHK-1042", "-f", "html", "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    text = (tmp_path / "CHK-1042.html").read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "<title>Retrospective: Checkout card payments" in text
    shown = CliRunner().invoke(cli, ["--config", str(example_config), "show", "CHK-1042", "-f", "html"])
    assert shown.exit_code == 0, shown.output
    assert shown.stdout == text, "show renders the stored retro the same way"


class _Configured:
    name = "configured"
    extension = "txt"

    def render(self, retro: Any, config: Any = None) -> str:
        return "with config" if config is not None else "without"


def test_document_bytes_passes_config_only_to_renderers_that_take_it(example_retro: Retro) -> None:
    config = make_config("")
    assert document_bytes(_Configured(), example_retro, config) == b"with config"
    assert document_bytes(_Configured(), example_retro) == b"without"
    markdown = make_plugins().renderers.get("markdown")
    assert document_bytes(markdown, example_retro, config) == markdown.render(example_retro).encode()


def test_the_review_findings_on_the_retro_are_listed_apart_from_the_warning() -> None:
    retro = build([make_event("alert", 0)])
    finding = Finding(rule="blameful-language", message="“human error” blames.", suggestion="Name the condition.")
    text = render_html(attrs.evolve(retro, findings=(finding,)))
    assert '<h2 id="findings-heading">Review findings</h2>' in text
    assert "<strong>⚠ blameful-language:</strong> “human error” blames." in text


def test_time_ticks_and_day_labels_for_a_long_incident() -> None:
    events = [make_event("alert", 0), make_event("resolution", 60 * 30, native_id="r")]  # 30 hours
    text = render_html(Retro(incident=Incident(id="LONG"), timeline=Timeline.from_events(events)))
    ticks = re.findall(r'<text class="tick-label"[^>]*>([^<]+)</text>', text)
    assert 3 <= len(ticks) <= 11
    assert any(re.match(r"\d\d \w\w\w \d\d:\d\d", tick) for tick in ticks), "a new day is named"


def test_a_day_of_changes_before_the_incident_does_not_squash_its_minutes() -> None:
    """A git source reads a day back: the chart still spans the incident (with some lead),
    and the change of the day before sits at its left edge, named and linked."""
    events = [
        make_event("change", -20 * 60, summary="deploy checkout v41", native_id="c1"),
        make_event("alert", 0, native_id="a1"),
        make_event("ack", 5, native_id="k1"),
        make_event("resolution", 40, native_id="r1"),
    ]
    text = render_html(Retro(incident=Incident(id="LEAD"), timeline=Timeline.from_events(events)))
    ticks = re.findall(r'<text class="tick-label"[^>]*>([^<]+)</text>', text)
    assert all(re.fullmatch(r"\d\d:\d\d", tick) for tick in ticks), ticks  # minutes, not a day
    assert len(ticks) >= 4
    assert re.search(r'class="tick-label earlier"[^>]*>\u2190 since \d\d \w\w\w \d\d:\d\d<', text)
    mark = re.search(
        r'<a class="mark" href="#[^"]+"><title>[^<]*deploy checkout v41[^<]*</title><circle [^>]*cx="([\d.]+)"', text
    )
    assert mark is not None and float(mark.group(1)) < 200, "at the left edge of the lanes"


def test_key_moment_labels_near_the_right_edge_do_not_overlap() -> None:
    # "resolved" at the right edge is drawn left of its line, over "mitigated" before it.
    assert _moment_levels([(870.0, "mitigated"), (940.0, "resolved")]) == [0, 1]
    assert _moment_levels([(300.0, "signal"), (600.0, "alert")]) == [0, 0]


def test_retroflow_retro_gives_the_renderer_its_settings(tmp_path: Path) -> None:
    config = tmp_path / "retroflow.toml"
    config.write_text(
        f'[plugins.file]\nevents = ["{EXAMPLE / "events.jsonl"}"]\nincident = "{EXAMPLE / "incident.json"}"\n'
        '[plugins.html]\ninvite = ["finance"]\ntimeline_owner = "dana"\n',
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["-q", "--config", str(config), "retro", "CHK-1042", "-f", "html", "-o", "-"])
    assert result.exit_code == 0, result.output
    assert "Beyond engineering: finance." in result.stdout and "<td>dana</td>" in result.stdout


def _judged(retro: Retro) -> Retro:
    """``retro`` with past actions judged: one improved (a count), one inconclusive (a
    duration), one done action whose metric is not an outcome metric."""
    from datetime import timedelta

    from retroflow.model import DoneAction, Outcome, OutcomeWindow, PastActions, Verdict

    began = retro.incident.created
    done = began - timedelta(days=40)

    def window(days: int, value: float, count: float | None) -> OutcomeWindow:
        start = done + timedelta(days=days)
        return OutcomeWindow(start, start + timedelta(days=30), n=4, value=value, count=count)

    improved = Outcome(
        DoneAction("a1", "INC-900", "Canary <checkout> deploys", "incident-rate", "checkout", done, "tracker:jira"),
        Verdict.IMPROVED, window(-30, 3.0, 3.0), window(7, 0.5, 0.5), effect=0.17, ci=(0.05, 0.6), p=0.004, q=0.008,
        reason="3 incidents before, 0.5 after",
    )  # fmt: skip
    inconclusive = Outcome(
        DoneAction("a2", "INC-900", "Alert on pool saturation", "time-to-detect", "checkout", done, "tracker:jira"),
        Verdict.INCONCLUSIVE, window(-30, 1260.0, None), window(7, 900.0, None), effect=0.71, p=0.4, q=0.4,
        reason="too few incidents to tell",
    )  # fmt: skip
    unmeasured = DoneAction("a3", "INC-901", "Write the runbook", "", "checkout", done, "import")
    past = PastActions(("checkout", "payments"), began, 6, (improved, inconclusive), (unmeasured,))
    return attrs.evolve(retro, past_actions=past)


def test_the_past_actions_section_answers_the_standing_question(example_retro: Retro) -> None:
    text = render_html(_judged(example_retro))
    section = text[text.index('<section id="past-actions"') : text.index("</section>", text.index('id="past-actions"'))]
    assert '<li><a href="#past-actions">Past actions</a></li>' in text
    assert "Done actions on checkout, payments, judged on the history known when this incident began" in section
    assert '<tr class="verdict-improved">' in section and "Canary &lt;checkout&gt; deploys" in section
    assert "×0.17 (0.05–0.60)" in section and "<td>0.004</td>" in section
    assert "Write the runbook" in section and "none: not an outcome metric" in section
    charts = re.findall(r'<figure class="outcome-chart"><svg .*?</svg>', section, re.S)
    assert len(charts) == 2, "a before-and-after chart per measured action, from outcomes/plots.py"
    assert "incident-rate on checkout: before and after “Canary &lt;checkout&gt; deploys”" in charts[0]
    assert "before: 21 min (n = 4)" in charts[1], "a duration metric's values as durations"
    assert "<script" not in section
    assert render_html(_judged(example_retro)) == text, "same retro, same bytes"


def test_past_actions_without_history_or_not_looked_up(example_retro: Retro) -> None:
    from retroflow.model import Gap, PastActions

    assert 'id="past-actions"' not in render_html(example_retro), "built without the store: the agenda asks"
    empty = attrs.evolve(example_retro, past_actions=PastActions(("checkout",), None, 0))
    assert "No history of checkout yet" in render_html(empty)
    failed = attrs.evolve(example_retro, gaps=(Gap(plugin="outcomes", stage="outcomes", kind="error", reason="x"),))
    assert "the store's history could not be read (see Data gaps)" in render_html(failed)
