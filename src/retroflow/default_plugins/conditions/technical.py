"""Technical-layer heuristics and the actions they propose.

* ``detection-gap``: the first signal came long before anyone was alerted or paged.
* ``no-automated-signal``: people were paged (or started responding) with no alert before.
* ``blast-radius``: signals on several services.
* ``alert-noise``: many alerts in the incident, or one monitor firing again and again.

Settings: ``[plugins.technical-conditions]`` (:class:`TechnicalSettings`). The heuristic
``change-before-incident`` lives in its own plugin.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence

import attrs

from retroflow import hookimpl
from retroflow.config import Config
from retroflow.default_plugins._plugin_kit import (
    SettingsTable,
    detail,
    minutes_text,
    service_named,
    strength,
    threshold,
)
from retroflow.default_plugins.conditions.facts import (
    TimelineFacts,
    cite,
    facts_of,
    is_alert_trigger,
    main_service,
    monitor_of,
    quoted,
    raised_by_hand,
)
from retroflow.default_plugins.conditions.keys import ALERT_NOISE, BLAST_RADIUS, DETECTION_GAP, NO_AUTOMATED_SIGNAL
from retroflow.default_plugins.conditions.proposers import Proposal, Proposers
from retroflow.default_plugins.conditions.wait import Wait
from retroflow.model import Category, Effort, Event, EventKind, Factor, Incident, Layer, Timeline

#: Kinds that show a person responding (when nobody was paged).
_RESPONSE_KINDS = frozenset({EventKind.ACK, EventKind.RESPONSE})

#: The proposer of each factor key this plugin finds, declared next to its heuristic.
PROPOSERS = Proposers()
retroflow_propose_actions = PROPOSERS.hook()


@attrs.frozen
class TechnicalSettings:
    """``[plugins.technical-conditions]``.

    :ivar detection_gap_minutes: first signal → first alert or page longer than this fires
        ``detection-gap``.
    :ivar blast_radius_services: this many services with signals fires ``blast-radius``.
    :ivar noisy_alerts: this many alerts firing in the incident fires ``alert-noise``.
    :ivar flapping_triggers: one monitor firing this many times fires ``alert-noise``.
    """

    detection_gap_minutes: int = threshold(10)
    blast_radius_services: int = threshold(2)
    noisy_alerts: int = threshold(10)
    flapping_triggers: int = threshold(3)


SETTINGS = SettingsTable("technical-conditions", TechnicalSettings)
retroflow_register_settings = SETTINGS.hook()


def find_factors(incident: Incident, timeline: Timeline, config: Config) -> Iterator[Factor]:
    """The factors this plugin finds, one heuristic after the other."""
    settings = SETTINGS.read(config)
    facts = facts_of(timeline)
    alerts = facts.of_kind(EventKind.ALERT)
    automatic = [a for a in alerts if not raised_by_hand(a)]
    yield from _detection_gap(incident, facts, alerts, settings)
    yield from _no_automated_signal(incident, facts, automatic)
    yield from _blast_radius(facts, settings)
    yield from _alert_noise([a for a in automatic if is_alert_trigger(a)], settings)


retroflow_find_factors = hookimpl(find_factors)


def _detection_gap(
    incident: Incident, facts: TimelineFacts, alerts: Sequence[Event], settings: TechnicalSettings
) -> Iterator[Factor]:
    """First signal → first alert or page."""
    first = facts.first_signal
    first_page = facts.first(EventKind.PAGE)
    detector = min(
        (e for e in (alerts[0] if alerts else None, first_page) if e is not None), key=lambda e: e.at, default=None
    )
    if first is None or detector is None or detector is first:
        return
    wait = Wait(first, detector, settings.detection_gap_minutes)
    if wait.too_long:
        service = main_service(incident, facts, first)
        yield wait.factor(
            DETECTION_GAP,
            Layer.TECHNICAL,
            title=f"{wait.took} passed between the first signal and the first {detector.kind.value}",
            explanation=(
                f"The first signal ({quoted(first.summary)}, {service or 'unknown service'}) showed at "
                f"{first.at:%H:%M}; the first {detector.kind.value} ({quoted(detector.summary)}) came at "
                f"{detector.at:%H:%M}, {wait.took} later ({wait.threshold}). "
                "The signal existed; nothing that tells a person was watching it."
            ),
            service=service,
            signal=first.summary,
            detected_by=detector.kind.value,
        )


@PROPOSERS.answer(DETECTION_GAP, Category.DETECT_FASTER, Effort.LOW, "time-to-detect")
def _detection_gap_action(incident: Incident, factor: Factor) -> Proposal:
    service = service_named(factor)
    within = min(5, detail(factor, "threshold_minutes", 10))
    signal = detail(factor, "signal", "the first signal")
    return Proposal(
        service,
        title=f"Alert on {quoted(signal, 60)} for {service} within {minutes_text(within)}",
        change=(
            f"Turn the signal that showed first ({quoted(signal)}) into an alert on {service} that pages "
            f"within {minutes_text(within)} of it starting (today it took {minutes_text(detail(factor, 'minutes'))} "
            f"to reach a person, via the first {detail(factor, 'detected_by', 'alert')})."
        ),
        target=f"≤ {minutes_text(within)} from first signal to first page",
    )


def _no_automated_signal(incident: Incident, facts: TimelineFacts, automatic: list[Event]) -> Iterator[Factor]:
    """People were paged, or responded, before any alert fired (an alert a person raised by
    hand is people finding it, not monitoring)."""
    detected = facts.first(EventKind.PAGE) or next((e for e in facts.notable if e.kind in _RESPONSE_KINDS), None)
    if detected is not None and not _automated(detected) and not (automatic and automatic[0].at <= detected.at):
        # What people said before they were paged: often how the incident was found.
        reporters = [e for e in facts.notable if e.kind is EventKind.MESSAGE and e.at <= detected.at][-3:]
        service = main_service(incident, facts, detected)
        yield Factor(
            key=NO_AUTOMATED_SIGNAL,
            layer=Layer.TECHNICAL,
            title="People found the incident before any alert did",
            explanation=(
                f"No alert fired before {detected.kind.value} {quoted(detected.summary)} at {detected.at:%H:%M}; "
                "the incident was noticed by people or customers, not by monitoring."
            ),
            evidence=cite([*reporters, detected]),
            strength=1.0,
            details={"service": service, "detected_by": detected.summary, "kind": detected.kind.value},
        )


def _automated(event: Event) -> bool:
    """A page whose details say an alert triggered it (the alert source may be missing)."""
    details = event.details
    return str(details.get("trigger", "")).lower() in {"alert", "monitor"} or bool(details.get("monitor"))


@PROPOSERS.answer(NO_AUTOMATED_SIGNAL, Category.DETECT_FASTER, Effort.LOW, "time-to-detect")
def _no_automated_signal_action(incident: Incident, factor: Factor) -> Proposal:
    service = service_named(factor)
    return Proposal(
        service,
        title=f"Add a symptom alert on {service}'s customer-facing error rate and latency",
        change=(
            f"Alert on {service}'s user-facing error rate and p95 latency (SLO burn rate) so monitoring, "
            f"not {quoted(detail(factor, 'detected_by', 'a person'), 60)}, is the first to notice."
        ),
        target="an alert first: 0 incidents a quarter noticed by people",
    )


def _blast_radius(facts: TimelineFacts, settings: TechnicalSettings) -> Iterator[Factor]:
    """Signals on several services."""
    if len(facts.first_by_service) >= settings.blast_radius_services:
        firsts = list(facts.first_by_service.items())
        names = [name for name, _ in firsts]
        origin = names[0]
        yield Factor(
            key=BLAST_RADIUS,
            layer=Layer.TECHNICAL,
            title=f"The failure reached {len(names)} services: {', '.join(names)}",
            explanation=(
                f"Signals started on {origin} at {firsts[0][1].at:%H:%M} and then showed on "
                + ", ".join(f"{name} ({event.at:%H:%M})" for name, event in firsts[1:])
                + "; nothing contained the failure to the service where it began."
            ),
            evidence=cite(event for _, event in firsts),
            strength=strength(len(names) / (2 * settings.blast_radius_services)),
            details={"services": names, "origin": origin, "threshold_services": settings.blast_radius_services},
        )


@PROPOSERS.answer(BLAST_RADIUS, Category.LIMIT_BLAST_RADIUS, Effort.HIGH, "pages-per-incident")
def _blast_radius_action(incident: Incident, factor: Factor) -> Proposal:
    services = list(detail(factor, "services", []))
    origin = detail(factor, "origin", services[0] if services else "the failing service")
    others = [s for s in services if s != origin] or ["its dependants"]
    return Proposal(
        origin,
        title=f"Contain {origin} failures: timeouts and a circuit breaker between {origin} and {', '.join(others)}",
        change=(
            f"Put bounded timeouts, a circuit breaker and a bulkhead (separate pool) on the calls between "
            f"{origin} and {', '.join(others)}, so a failure in one degrades it alone instead of spreading."
        ),
        target=f"only {origin}'s team paged when {origin} fails",
    )


def _alert_noise(triggers: list[Event], settings: TechnicalSettings) -> Iterator[Factor]:
    """Many alerts, or a monitor firing again and again."""
    per_monitor = Counter(monitor_of(a) for a in triggers)
    flapping = sorted(
        (m for m, n in per_monitor.items() if n >= settings.flapping_triggers), key=lambda m: (-per_monitor[m], m)
    )
    if len(triggers) >= settings.noisy_alerts or flapping:
        noisy = set(flapping) or set(per_monitor)
        cited = [a for a in triggers if monitor_of(a) in noisy]
        top = flapping[0] if flapping else per_monitor.most_common(1)[0][0]
        top_service = next((a.service for a in triggers if monitor_of(a) == top and a.service), None)
        parts = []
        if len(triggers) >= settings.noisy_alerts:
            parts.append(f"{len(triggers)} alerts fired (threshold {settings.noisy_alerts})")
        if flapping:
            parts.append(
                "; ".join(f"{m!r} fired {per_monitor[m]} times" for m in flapping[:3])
                + f" (threshold {settings.flapping_triggers})"
            )
        yield Factor(
            key=ALERT_NOISE,
            layer=Layer.TECHNICAL,
            title=f"Alert noise: {len(triggers)} alerts from {len(per_monitor)} monitor(s)",
            explanation=", ".join(parts) + "; repeated alerts compete for the responders' attention.",
            evidence=cite(cited),
            strength=strength(len(triggers) / (2 * settings.noisy_alerts) + 0.3 * bool(flapping)),
            details={
                "alerts": len(triggers),
                "monitors": dict(sorted(per_monitor.items())),
                "flapping": flapping,
                "monitor": top,
                "service": top_service,
                "threshold_alerts": settings.noisy_alerts,
                "threshold_triggers": settings.flapping_triggers,
            },
        )


@PROPOSERS.answer(ALERT_NOISE, Category.REDUCE_COGNITIVE_LOAD, Effort.LOW, "alerts-per-incident")
def _alert_noise_action(incident: Incident, factor: Factor) -> Proposal:
    monitor = detail(factor, "monitor", "the noisiest monitor")
    count = detail(factor, "monitors", {}).get(monitor, detail(factor, "alerts", 0))
    return Proposal(
        detail(factor, "service"),
        about=(monitor,),
        title=f"Deduplicate and add hysteresis to monitor {monitor!r}",
        change=(
            f"Group re-triggers of {monitor!r} into the open alert and require recovery for a few minutes "
            f"before it can fire again (it fired {count} times in this incident)."
        ),
        target=f"≤ 1 notification from {monitor!r} per incident",
    )
