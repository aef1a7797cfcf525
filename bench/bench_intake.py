"""Benchmark: the webhook intake of ``retroflow serve`` against a minimal reference, and a
``kill -9`` under load (issue 10, performance).

    python bench/bench_intake.py [--duration 20] [--connections 16 32] [--no-kill]

1. Starts ``retroflow serve`` (SQLite, the PagerDuty receiver, default job threads, drafts
   ten minutes away so no build runs) and ``bench/reference_app.py`` (Starlette + HMAC + one
   SQLite WAL ``synchronous=FULL`` insert per request), each its own process.
2. For each connection count, drives both in the same run, one after the other, with
   ``bench/loadgen.py`` (its own process): signed, unique ``incident.resolved`` deliveries
   over keep-alive connections for ``--duration`` seconds after a 2 s warm-up. Every
   delivery to ``retroflow serve`` stores an inbox row, a lifecycle row and a draft job.
3. Checks that every delivery ``retroflow serve`` answered 2xx is in its inbox.
4. Kill test: a fresh ``retroflow serve`` under 32 connections is killed with ``kill -9``
   after 4 s; it is started again on the same database, and every delivery the sender saw
   answered 2xx must be in the inbox.

Goals (issue 10): ≥ 1,000 durable deliveries/s and p99 < 50 ms at 32 connections, and
≥ 70 % of the reference's throughput in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
SECRET = "bench-webhook-secret-0c1d2e"
SERVE = [sys.executable, "-c", "from retroflow.cli import main; main()"]


def start(command: list[str], pattern: str, env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], int]:
    handle = open(log, "wb")  # noqa: SIM115 - the process writes it
    process = subprocess.Popen(command, env=env, stdout=handle, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = re.search(pattern, log.read_text(errors="replace"))
        if found:
            return process, int(found[1])
        if process.poll() is not None:
            break
        time.sleep(0.05)
    raise SystemExit(f"{command[-1]} did not start:\n{log.read_text(errors='replace')}")


def serve(directory: Path, database: Path, name: str) -> tuple[subprocess.Popen[bytes], int]:
    config = directory / f"{name}.toml"
    config.write_text(
        f'[retroflow]\ndatabase = "sqlite:///{database}"\noutput = "{directory / "out"}"\n'
        "[service]\ndraft_delay = 600\n"
        '[plugins.pagerduty]\nwebhook_secrets = ["env:BENCH_WEBHOOK_SECRET"]\n'
    )
    env = {**os.environ, "BENCH_WEBHOOK_SECRET": SECRET, "RETROFLOW_LOAD_PLUGINS": "pagerduty"}
    command = [*SERVE, "--config", str(config), "serve", "--port", "0"]
    return start(command, r"listening on http://127\.0\.0\.1:(\d+)", env, directory / f"{name}.log")


def reference(directory: Path) -> tuple[subprocess.Popen[bytes], int]:
    command = [sys.executable, str(BENCH / "reference_app.py"), str(directory / "reference.db"), SECRET]
    return start(command, r"listening on (\d+)", dict(os.environ), directory / "reference.log")


def drive(port: int, connections: int, duration: float, log: Path | None = None) -> dict:
    command = [
        sys.executable,
        str(BENCH / "loadgen.py"),
        "--url",
        f"http://127.0.0.1:{port}/webhooks/pagerduty",
        "--secret",
        SECRET,
        "--connections",
        str(connections),
        "--duration",
        str(duration),
    ]
    if log is not None:
        command += ["--log", str(log), "--warmup", "0"]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def inbox_ids(database: Path) -> set[str]:
    connection = sqlite3.connect(database)
    try:
        return {row[0] for row in connection.execute("SELECT event_id FROM webhook_deliveries")}
    finally:
        connection.close()


def count(database: Path, table: str) -> int:
    connection = sqlite3.connect(database)
    try:
        return int(connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    finally:
        connection.close()


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    process.wait(60)


def line(name: str, result: dict) -> str:
    return (
        f"  {name:<16} {result['ok_per_second']:>8.1f} 2xx/s   p50 {result['p50_ms']:>6.1f} ms   "
        f"p90 {result['p90_ms']:>6.1f} ms   p99 {result['p99_ms']:>6.1f} ms   statuses {result['statuses']}"
    )


def throughput(directory: Path, duration: float, counts: list[int]) -> list[dict]:
    database = directory / "retroflow.db"
    server, server_port = serve(directory, database, "serve")
    ref, ref_port = reference(directory)
    rows = []
    try:
        for connections in counts:
            print(f"{connections} connections, {duration:g} s each:", flush=True)
            # alternate who goes first, so neither always runs on a fresher disk cache
            order = [("reference", ref_port), ("retroflow serve", server_port)]
            if connections % 32 == 0:
                order.reverse()
            results = {}
            for name, port in order:
                results[name] = drive(port, connections, duration)
                print(line(name, results[name]), flush=True)
            ratio = results["retroflow serve"]["ok_per_second"] / results["reference"]["ok_per_second"]
            print(f"  ratio retroflow serve / reference: {ratio:.2f}", flush=True)
            rows.append({"connections": connections, **results, "ratio": round(ratio, 3)})
    finally:
        stop(server)
        stop(ref)
    stored = count(database, "webhook_deliveries")
    acked = sum(r["retroflow serve"]["acked"] for r in rows)
    print(
        f"inbox: {stored} deliveries for {acked} answered 2xx; "
        f"{count(database, 'jobs')} draft jobs, {count(database, 'incident_lifecycles')} incidents"
    )
    if stored < acked:
        raise SystemExit("FAIL: a delivery answered 2xx is missing from the inbox")
    return rows


def kill_test(directory: Path) -> dict:
    database = directory / "killed.db"
    server, port = serve(directory, database, "killed")
    sent_log = directory / "acked.txt"
    sender = subprocess.Popen(
        [
            sys.executable,
            str(BENCH / "loadgen.py"),
            "--url",
            f"http://127.0.0.1:{port}/webhooks/pagerduty",
            "--secret",
            SECRET,
            "--connections",
            "32",
            "--duration",
            "10",
            "--warmup",
            "0",
            "--log",
            str(sent_log),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    time.sleep(4)
    server.send_signal(signal.SIGKILL)
    server.wait(10)
    sender.communicate(timeout=60)
    restarted, _ = serve(directory, database, "restarted")  # recovers the WAL like any restart
    try:
        acked = [line for line in sent_log.read_text().splitlines() if line]
        stored = inbox_ids(database)
    finally:
        stop(restarted)
    missing = [event_id for event_id in acked if event_id not in stored]
    result = {"acked": len(acked), "in_inbox": len(stored), "missing": len(missing)}
    print(
        f"kill -9 under load: {len(acked)} deliveries answered 2xx, {len(stored)} in the inbox after a restart, "
        f"{len(missing)} answered but missing"
    )
    if missing:
        raise SystemExit(f"FAIL: answered 2xx but not stored: {missing[:5]}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--connections", type=int, nargs="+", default=[16, 32])
    parser.add_argument("--no-kill", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="retroflow-bench-intake-") as tmp:
        directory = Path(tmp)
        throughput(directory, args.duration, args.connections)
        if not args.no_kill:
            kill_test(directory)


if __name__ == "__main__":
    main()
