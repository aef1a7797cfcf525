"""What the words of a message say: beliefs, decisions and their reasons, names, services."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from retroflow_slack import SlackSource
from retroflow_slack.channel import ChannelRef, channel_links
from retroflow_slack.text import Services, Typing, readable, summary_of, typing_of

from retroflow import EventKind, Incident, SourceResult, hookimpl
from retroflow.testing import build, make_plugins


@pytest.mark.parametrize(
    ("text", "typing"),
    [
        ("I think it's the payments-db pool", Typing(belief=True)),
        ("looks like checkout is fine", Typing(belief=True)),
        ("the dashboard looked green", Typing(belief=True)),
        ("probably DNS", Typing(belief=True)),
        ("seems to be only eu-west", Typing(belief=True)),
        ("let's roll back checkout because the deploy changed the pool", Typing(decision=True, why="the deploy changed the pool")),
        ("Decided: revert v2.14.0 due to the pool size change.", Typing(decision=True, why="the pool size change")),
        ("we're going to fail over to eu-west", Typing(decision=True)),
        ("rolling back payments-api now", Typing(decision=True)),
        ("The pool is exhausted, so let's bump it", Typing(decision=True, why="The pool is exhausted")),
        ("I think it's the deploy, let's revert it", Typing(belief=True, decision=True)),
        ("should we roll back?", Typing()),
        ("let's see", Typing()),
        ("pods keep restarting", Typing()),
        ("I'll take a look", Typing()),
        ("errors since 14:02", Typing()),
    ],
)  # fmt: skip
def test_beliefs_and_decisions_are_read_from_the_words(text: str, typing: Typing) -> None:
    assert typing_of(text) == typing


def test_markup_becomes_readable_and_unknown_ids_stay() -> None:
    names = {"U1": "Alice"}.get
    text = "<@U1> <@U2> <@U3|carol> in <#C1|ops> <#C2> see <https://x.example|the board> <https://y.example> <!here>"
    assert readable(text + " <!subteam^S1|@oncall> a &lt;b&gt; &amp; c", names) == (
        "@Alice @U2 @carol in #ops #C2 see the board (https://x.example) https://y.example @here @oncall a <b> & c"
    )


def test_long_and_multi_line_text_gives_a_one_line_summary() -> None:
    assert summary_of("a\n\n b   c") == "a b c"
    long = summary_of("word " * 100)
    assert len(long) == 280 and long.endswith("…")


def test_services_are_found_as_whole_words_in_the_order_named() -> None:
    services = Services.of(["payments-api", "checkout"], ["payments"])
    assert services.named_in("Payments-API is down; checkout fine; payments ok; payments-api again") == [
        "payments-api", "checkout", "payments",
    ]  # fmt: skip
    assert services.named_in("checkouts and subpayments") == []
    assert Services.of().named_in("anything") == []


@pytest.mark.parametrize(
    ("text", "ref"),
    [
        ("https://acme.slack.com/archives/C024BE91L", ChannelRef("C024BE91L", "https://acme.slack.com")),
        ("see https://acme.slack.com/archives/C024BE91L/p1512085950000216", ChannelRef("C024BE91L", "https://acme.slack.com")),
        ("https://app.slack.com/client/T012AB3C4/C024BE91L", ChannelRef("C024BE91L")),
        ("slack://channel?team=T012AB3C4&id=G024BE91L", ChannelRef("G024BE91L")),
    ],
)  # fmt: skip
def test_channel_links_name_the_channel(text: str, ref: ChannelRef) -> None:
    assert list(channel_links([text])) == [ref]


def test_in_a_retro_the_channel_and_window_come_from_the_paging_source(kit: Any, tmp_path: Path) -> None:
    """End to end through the engine: a first-round source knows the incident and its Slack
    link; the Slack source reads that channel in that window."""

    class Paging:
        __name__ = "pagerduty"

        @hookimpl
        def retroflow_timeline_source(self) -> SourceResult:
            return SourceResult(incident=kit.incident(services=("checkout",)))

    folder = kit.write_export(tmp_path / "export", kit.incident_channel())
    retro = build(
        [],
        incident=Incident(id="INC-1042"),
        plugins=[Paging(), SlackSource()],
        config=f'[plugins.slack]\nexport = "{folder}"\nservices = ["payments-api"]\n',
    )
    slack = [e for e in retro.timeline.events if e.source == "slack"]
    assert len(slack) == 7
    assert [e.kind for e in slack].count(EventKind.DECISION) == 2
    assert not [g for g in retro.gaps if g.plugin == "slack"]
    assert make_plugins(SlackSource()).pm.has_plugin("slack")
