"""Benchmark: the OpenTelemetry source on a 1,000,000-record collector log file.

    .venv/bin/python bench/bench_otel.py [--records 1000000] [--pairs 5]

The file is what the collector's file exporter writes (``format: json``): one ``LogsData``
per line, each a batch of 100–600 records from one to three services (resource attributes
as the SDKs set them, a scope, records with trace context and attributes). Six services
talk for two hours; in the middle hour checkout, payments and frontend flood with timeouts,
pool exhaustion and stack traces whose numbers, ids and UUIDs vary from record to record.

Two whole processes are timed from outside, alternating, ``--pairs`` times:

* baseline: read the file and ``json.loads`` every line (the standard library);
* otel: what ``retroflow retro`` does before rendering, with the file source giving the
  incident's times and the ``otel`` source reading every line with orjson and condensing
  the records at or above WARN in the incident's window (here: the whole two hours) into
  signal events; then heuristics, actions, review and scoring on the merged timeline.

The figure is the median of the per-pair ratios (otel / baseline). Peak memory is each
process's ``ru_maxrss``; its CPU time (user + system) is shown beside the wall time, since
the machine may be shared (both from ``wait4``). Target (issue 14): ratio ≤ 2, otel peak
< 300 MB.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import orjson

from retroflow import format_timestamp

DATA = Path(__file__).parent / "data"
START = datetime(2026, 11, 2, 13, 0, tzinfo=UTC)
HOURS = 2
INCIDENT = (START + timedelta(minutes=40), START + timedelta(minutes=100))  # created, resolved

SERVICES = [
    # name, version, language, scope
    ("checkout", "2.14.0", "java", "io.opentelemetry.javaagent.logback-appender-1.0"),
    ("payments", "5.3.1", "java", "io.opentelemetry.javaagent.logback-appender-1.0"),
    ("inventory", "1.9.4", "go", "go.opentelemetry.io/contrib/bridges/otelslog"),
    ("frontend", "3.2.0", "nodejs", "@opentelemetry/instrumentation-pino"),
    ("auth", "0.18.2", "python", "opentelemetry.sdk._logs"),
    ("search", "4.0.1", "go", "go.opentelemetry.io/contrib/bridges/otelslog"),
]

_STACK = (
    "java.net.SocketTimeoutException: Read timed out\n"
    "\tat java.base/sun.nio.ch.NioSocketImpl.timedRead(NioSocketImpl.java:{a})\n"
    "\tat com.shop.payments.client.PaymentsClient.charge(PaymentsClient.java:{b})\n"
    "\tat com.shop.checkout.OrderService.placeOrder(OrderService.java:{c})\n"
    "\t... {d} more"
)

# (severity number, text, template); {n}, {ms}, {order}, {uuid}, {hex}, {ip} vary per record.
ROUTINE = [
    (9, "INFO", "GET /api/cart/{n} 200 in {ms} ms"),
    (9, "INFO", "Processed order {order} for customer {n} in {ms} ms"),
    (9, "INFO", "User {uuid} signed in from {ip}"),
    (9, "INFO", "Cache hit ratio {pct}% over the last 60 s"),
    (5, "DEBUG", "Query on inventory_items took {ms} ms (rows={n})"),
    (13, "WARN", "Slow request GET /api/search?q=item{n}: {ms} ms"),
    (17, "ERROR", "Failed to render recommendation widget {hex}: template not found"),
]
FLOODING = ("checkout", "payments", "frontend")
FLOOD = [
    (17, "ERROR", "Timeout after {ms} ms calling payments-api for order {order} (attempt {n} of 5)"),
    (17, "ERROR", "Payment {uuid} declined: upstream returned 503"),
    (17, "ERROR", _STACK),
    (13, "WARN", "Connection pool exhausted: {n}/50 connections in use, {ms} waiting"),
    (13, "WARN", "Retrying call to payments-api in {ms} ms (request {hex})"),
    (21, "FATAL", "Circuit breaker payments-api OPEN after {n} failures in 10 s"),
]


def _fill(template: str, rng: random.Random) -> str:
    if "{" not in template:
        return template
    return template.format(
        n=rng.randrange(1, 100_000),
        pct=rng.randrange(50, 100),
        ms=rng.randrange(5, 30_000),
        order=rng.randrange(10**9, 10**10),
        uuid=uuid.UUID(int=rng.getrandbits(128)),
        hex=f"{rng.getrandbits(64):016x}",
        ip=f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}",
        a=rng.randrange(100, 400),
        b=rng.randrange(100, 400),
        c=rng.randrange(100, 400),
        d=rng.randrange(10, 90),
    )


def _value(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    return {"stringValue": value}


def _attributes(**values: Any) -> list[dict[str, Any]]:
    return [{"key": key.replace("_", "."), "value": _value(value)} for key, value in values.items()]


def _resource(name: str, version: str, language: str, rng: random.Random) -> dict[str, Any]:
    pod = f"{name}-{rng.getrandbits(36):09x}-{rng.getrandbits(20):05x}"
    return {
        "attributes": [
            {"key": "service.name", "value": {"stringValue": name}},
            *_attributes(
                service_version=version,
                service_namespace="shop",
                deployment_environment="production",
                host_name=pod,
            ),
            {"key": "k8s.pod.name", "value": {"stringValue": pod}},
            {"key": "k8s.namespace.name", "value": {"stringValue": "shop-prod"}},
            {"key": "telemetry.sdk.language", "value": {"stringValue": language}},
            {"key": "telemetry.sdk.name", "value": {"stringValue": "opentelemetry"}},
            {"key": "telemetry.sdk.version", "value": {"stringValue": "1.40.0"}},
        ]
    }


def _record(at_ns: int, flooding: bool, service: str, rng: random.Random) -> dict[str, Any]:
    troubled = flooding and service in FLOODING and rng.random() < 0.7
    number, text, template = rng.choice(FLOOD if troubled else ROUTINE[:5] if rng.random() < 0.95 else ROUTINE)
    return {
        "timeUnixNano": str(at_ns),
        "observedTimeUnixNano": str(at_ns + rng.randrange(1_000_000, 50_000_000)),
        "severityNumber": number,
        "severityText": text,
        "body": {"stringValue": _fill(template, rng)},
        "attributes": _attributes(
            thread_name=f"http-nio-8080-exec-{rng.randrange(1, 200)}",
            code_function="placeOrder" if troubled else "handle",
            http_route="/api/checkout" if troubled else "/api/cart",
        ),
        "flags": 1,
        "traceId": f"{rng.getrandbits(128):032x}",
        "spanId": f"{rng.getrandbits(64):016x}",
    }


def write_logs(path: Path, records: int, seed: int = 14) -> None:
    """Write ``records`` log records as the collector's file exporter does."""
    rng = random.Random(seed)
    resources = {name: _resource(name, version, language, rng) for name, version, language, _ in SERVICES}
    scopes = {name: {"name": scope, "version": "2.10.0"} for name, _, _, scope in SERVICES}
    span_ns = HOURS * 3600 * 10**9
    start_ns = int(START.timestamp()) * 10**9
    written = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        while written < records:
            batch = min(rng.randrange(100, 600), records - written)
            batch_ns = start_ns + span_ns * written // records
            flooding = span_ns // 4 <= batch_ns - start_ns <= 3 * span_ns // 4
            services = rng.sample(SERVICES, rng.randrange(1, 4))
            shares = [batch // len(services)] * len(services)
            shares[0] += batch - sum(shares)
            resource_logs = []
            for (name, *_), share in zip(services, shares, strict=True):
                times = sorted(batch_ns + rng.randrange(0, 5 * 10**9) for _ in range(share))
                resource_logs.append(
                    {
                        "resource": resources[name],
                        "scopeLogs": [
                            {
                                "scope": scopes[name],
                                "logRecords": [_record(at, flooding, name, rng) for at in times],
                            }
                        ],
                        "schemaUrl": "https://opentelemetry.io/schemas/1.26.0",
                    }
                )
            out.write(orjson.dumps({"resourceLogs": resource_logs}) + b"\n")
            written += batch


# --- the two processes ------------------------------------------------------------------


def run_baseline(path: Path) -> None:
    import json

    with path.open(encoding="utf-8") as handle:
        for line in handle:
            json.loads(line)


def run_otel(path: Path) -> None:
    """What ``retroflow retro BENCH-1`` does before rendering, with two sources: the file
    source knows the incident (its times), the otel source reads the logs in its window."""
    from retroflow.engine import build_retro
    from retroflow.logs import configure_logging
    from retroflow.plugins import Plugins, get_plugin_manager
    from retroflow.request import RetroRequest
    from retroflow.testing import make_config

    configure_logging(level="warning", json=False)  # as the CLI does
    incident = path.with_suffix(".incident.json")
    created, resolved = (format_timestamp(at) for at in INCIDENT)
    incident.write_text(f'{{"id": "BENCH-1", "created": "{created}", "resolved": "{resolved}"}}')
    plugins = Plugins(get_plugin_manager(only=["otel"]))
    toml = (
        "[retroflow]\nsource_timeout = 600\n"
        + f"[plugins.file]\nincident = {str(incident)!r}\n[plugins.otel]\npaths = [{str(path)!r}]\n"
    )
    config = make_config(toml, plugins=plugins)
    retro = build_retro(RetroRequest("BENCH-1"), plugins=plugins, config=config)
    signals = [e for e in retro.timeline.events if e.source == "otel"]
    records = sum(e.details["count"] for e in signals)
    print(f"{len(signals):,} signal events from {records:,} records; gaps: {retro.gaps}", file=sys.stderr)


@attrs.frozen
class Run:
    """One whole process: wall seconds, CPU seconds (user + system) and peak MB."""

    wall: float
    cpu: float
    peak_mb: float


def timed(mode: str, path: Path) -> Run:
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, __file__, "--run", mode, str(path)])
    _pid, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise SystemExit(f"{mode} process failed with {process.returncode}")
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def _row(name: str, run: Run) -> str:
    return f"{name} {run.wall:6.2f} s wall, {run.cpu:6.2f} s CPU, {run.peak_mb:4.0f} MB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--run", nargs=2, metavar=("MODE", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        mode, file = args.run
        (run_baseline if mode == "baseline" else run_otel)(Path(file))
        return
    path = DATA / f"otel-logs-{args.records}.jsonl"
    if not path.exists():
        began = time.perf_counter()
        write_logs(path, args.records)
        print(f"wrote {path} in {time.perf_counter() - began:.1f} s")
    print(f"{path.name}: {path.stat().st_size / 2**20:,.0f} MB, {args.records:,} records")
    pairs = []
    for pair in range(args.pairs):
        order = ("baseline", "otel") if pair % 2 == 0 else ("otel", "baseline")
        runs = {mode: timed(mode, path) for mode in order}
        pairs.append(runs)
        base, otel = runs["baseline"], runs["otel"]
        print(
            f"pair {pair + 1}: {_row('baseline', base)} | {_row('otel', otel)} | "
            f"ratio {otel.wall / base.wall:.2f} wall, {otel.cpu / base.cpu:.2f} CPU"
        )
    wall = statistics.median(p["otel"].wall / p["baseline"].wall for p in pairs)
    cpu = statistics.median(p["otel"].cpu / p["baseline"].cpu for p in pairs)
    peak = max(p["otel"].peak_mb for p in pairs)
    print(f"median ratio otel/baseline: {wall:.2f} wall, {cpu:.2f} CPU (target ≤ 2)")
    print(
        f"otel peak memory {peak:.0f} MB (target < 300 MB); baseline {max(p['baseline'].peak_mb for p in pairs):.0f} MB"
    )


if __name__ == "__main__":
    main()
