"""Technical-layer heuristics: each fires with the right evidence, and a near miss does not."""

from __future__ import annotations

import pytest

from retroflow.default_plugins.conditions import technical as technical_conditions
from retroflow.errors import ConfigError
from retroflow.testing import build, make_event, make_incident


def test_detection_gap_cites_the_first_signal_and_the_first_alert(factors_of):
    signal = make_event("log", 0, summary="ERROR pool exhausted", service="checkout")
    alert = make_event("alert", 12, summary="5xx > 5%", service="checkout")
    page = make_event("page", 13, actor="bob")
    factor = factors_of([signal, alert, page])["detection-gap"]
    assert factor.evidence == (signal.id, alert.id)
    assert factor.layer == "technical"
    assert factor.details["minutes"] == 12
    assert factor.details["service"] == "checkout"


def test_detection_gap_near_miss_at_the_threshold(factors_of):
    signal = make_event("log", 0, service="checkout")
    alert = make_event("alert", 10, service="checkout")
    assert "detection-gap" not in factors_of([signal, alert])


def test_detection_gap_threshold_comes_from_config(factors_of):
    events = [make_event("log", 0, service="checkout"), make_event("alert", 6, service="checkout")]
    assert "detection-gap" in factors_of(events, config="[plugins.technical-conditions]\ndetection_gap_minutes = 5")


def test_detection_gap_counts_a_page_when_no_alert_fired(factors_of):
    signal = make_event("metric", 0, service="checkout")
    page = make_event("page", 30, actor="bob")
    factor = factors_of([signal, page])["detection-gap"]
    assert factor.evidence == (signal.id, page.id)
    assert factor.details["detected_by"] == "page"


def test_no_automated_signal_when_people_were_paged_before_any_alert(factors_of):
    report = make_event("message", 0, summary="#support: customers cannot pay", actor="dana")
    page = make_event("page", 5, summary="Paged bob manually", actor="bob", service="checkout")
    late_alert = make_event("alert", 20, service="checkout")
    factor = factors_of([report, page, late_alert])["no-automated-signal"]
    assert factor.evidence == (report.id, page.id)
    assert factor.details["service"] == "checkout"


def test_no_automated_signal_near_miss_alert_before_page(factors_of):
    alert = make_event("alert", 0, service="checkout")
    page = make_event("page", 1, actor="bob")
    assert "no-automated-signal" not in factors_of([alert, page])


def test_no_automated_signal_near_miss_page_says_a_monitor_triggered_it(factors_of):
    page = make_event("page", 1, actor="bob", details={"monitor": "checkout-5xx"})
    assert "no-automated-signal" not in factors_of([page])


def test_no_automated_signal_when_a_person_raised_the_alert(factors_of):
    by_hand = make_event("alert", 0, summary="Checkout is down for EU", actor="laura", details={"manual": True})
    page = make_event("page", 1, actor="bob", service="checkout")
    factor = factors_of([by_hand, page])["no-automated-signal"]
    assert factor.evidence == (page.id,)


def test_alert_noise_near_miss_alerts_people_raised_are_not_a_flapping_monitor(factors_of):
    raised = [make_event("alert", i, summary="EU checkout down", details={"manual": True}) for i in range(3)]
    assert "alert-noise" not in factors_of(raised)


def test_blast_radius_cites_the_first_signal_of_each_service(factors_of):
    a = make_event("log", 0, service="checkout")
    a2 = make_event("log", 1, service="checkout")
    b = make_event("metric", 5, service="payments")
    factor = factors_of([a, a2, b])["blast-radius"]
    assert factor.evidence == (a.id, b.id)
    assert factor.details["services"] == ["checkout", "payments"]
    assert factor.details["origin"] == "checkout"


def test_blast_radius_near_miss_one_service(factors_of):
    events = [make_event("log", i, service="checkout") for i in range(5)]
    assert "blast-radius" not in factors_of(events)


def test_alert_noise_fires_on_a_flapping_monitor(factors_of):
    alerts = [
        make_event("alert", i * 5, summary="p95 high", service="search", details={"monitor": "search-p95"})
        for i in range(3)
    ]
    factor = factors_of(alerts)["alert-noise"]
    assert factor.evidence == tuple(a.id for a in alerts)
    assert factor.details["flapping"] == ["search-p95"]


def test_alert_noise_fires_on_many_alerts(factors_of):
    alerts = [make_event("alert", i, service="search", details={"monitor": f"m-{i}"}) for i in range(10)]
    assert factors_of(alerts)["alert-noise"].details["alerts"] == 10


def test_alert_noise_near_miss_recoveries_do_not_count(factors_of):
    alerts = [
        make_event("alert", 0, details={"monitor": "m", "state": "triggered"}),
        make_event("alert", 4, summary="m (re-triggered)", details={"monitor": "m", "state": "triggered"}),
        make_event("alert", 9, summary="m recovered", details={"monitor": "m", "state": "resolved"}),
    ]
    assert "alert-noise" not in factors_of(alerts)


def test_change_before_incident_cites_the_change_and_first_signal(factors_of):
    deploy = make_event("deploy", -20, summary="Deploy checkout v2", service="checkout", actor="alice")
    signal = make_event("log", 0, service="checkout")
    factor = factors_of([deploy, signal])["change-before-incident"]
    assert factor.evidence == (deploy.id, signal.id)
    assert factor.details["change_by"] == "alice"


def test_change_before_incident_near_misses(factors_of):
    old = make_event("deploy", -61, service="checkout")
    elsewhere = make_event("flag", -5, service="billing")
    after = make_event("config", 5, service="checkout")
    signal = make_event("log", 0, service="checkout")
    assert "change-before-incident" not in factors_of([old, elsewhere, after, signal])


def test_technical_actions_are_filled_in_from_the_evidence(retro_of):
    incident = make_incident(teams=("storefront",))
    events = [
        make_event("log", 0, summary="ERROR payment-client pool exhausted", service="checkout"),
        make_event("alert", 25, summary="5xx", service="checkout", details={"monitor": "checkout-5xx"}),
        make_event("metric", 26, service="payments"),
    ]
    retro = retro_of(events, incident=incident)
    by_factor = {action.factors[0]: action for action in retro.actions}
    gap = by_factor["detection-gap"]
    assert "payment-client pool exhausted" in gap.title and "checkout" in gap.title
    assert gap.category == "detect faster"
    assert gap.owner == "storefront"
    assert (
        gap.verify is not None
        and gap.verify.service == "checkout"
        and gap.verify.target == "≤ 5 min from first signal to first page"
    )
    blast = by_factor["blast-radius"]
    assert blast.category == "limit blast radius"
    assert "checkout" in blast.title and "payments" in blast.title


@pytest.mark.parametrize(
    ("table", "key"),
    [
        ("technical-conditions", "detection_gap_minutes"),
        ("human-conditions", "ack_minutes"),
        ("process-conditions", "escalation_minutes"),
        ("change-before-incident", "window_minutes"),
    ],
)
def test_thresholds_below_one_fail_with_the_table_and_key(retro_of, table, key):
    with pytest.raises(ConfigError, match=f"plugins.{table}.*{key}"):
        retro_of([make_event("log", 0)], config=f"[plugins.{table}]\n{key} = 0")


def test_a_heuristic_failing_while_iterated_is_a_gap_inside_the_isolated_call(monkeypatch):
    """The hook returns the heuristics' generator as it is; the engine iterates it inside the
    isolated call, so a failure part-way becomes a gap (not a lost retro) and the other
    plugins' heuristics still count."""

    def broken(*args, **kwargs):
        yield from ()
        raise RuntimeError("boom")

    # The plugin's last heuristic: the others have run when it fails.
    monkeypatch.setattr(technical_conditions, "_alert_noise", broken)
    events = [make_event("deploy", -5, service="checkout"), make_event("log", 0, service="checkout")]
    retro = build(events)
    assert [(g.plugin, g.stage, g.reason) for g in retro.gaps] == [
        ("technical-conditions", "factors", "RuntimeError: boom")
    ]
    assert [f.key for f in retro.factors] == ["change-before-incident"]
