"""Benchmark: from a signed ``incident.resolved`` to the draft stored (issue 10: p50 < 2 s
with ``draft_delay = 0``), on the example incident against a loopback fake PagerDuty.

    python bench/bench_automation.py [--rounds 15]

The fake PagerDuty API (``retroflow_pagerduty.testing.FakePagerDuty``, seeded with the
example's saved replies, ``contrib/examples/checkout-outage/pagerduty/``) is served over
real HTTPS on loopback with a throwaway CA made by ``openssl`` (``ca_bundle``).
``retroflow serve`` runs as its own process with the example's other sources (deploys,
logs, metrics, chat) and the PagerDuty source fetching live. Each round sends a reopen and
then a resolve of incident #1042 and times from the resolve's request to its new version
in the store (polled every 10 ms). Baseline, side by side: the same build and store done
directly (``build_and_store``, what ``retroflow retro`` runs) in this process, against the
same fake API; the ratio is the automation's overhead.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import http.client
import http.server
import json
import os
import re
import signal
import sqlite3
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx2
from retroflow_pagerduty.testing import FakePagerDuty

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "contrib" / "examples" / "checkout-outage"
REPLIES = EXAMPLE / "pagerduty"
SECRET = "bench-automation-secret-51c7"
TOKEN = "bench-token-0123456789"


def certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A CA, and a certificate for 127.0.0.1 it signed (openssl)."""
    ca_key, ca, key, csr, cert = (directory / n for n in ("ca.key", "ca.pem", "srv.key", "srv.csr", "srv.pem"))

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(ca_key), "-out", str(ca), "-days", "2",
        "-subj", "/CN=bench CA")  # fmt: skip
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr), "-subj", "/CN=127.0.0.1")
    ext = directory / "ext.cnf"
    ext.write_text("subjectAltName=IP:127.0.0.1\n")
    run("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial", "-out", str(cert),
        "-days", "2", "-extfile", str(ext))  # fmt: skip
    return ca, cert, key


def fake_account() -> FakePagerDuty:
    def load(name: str) -> Any:
        return json.loads((REPLIES / name).read_text(encoding="utf-8"))

    incident = load("incident.json")["incident"]
    past = load("incidents.json")["incidents"]
    return FakePagerDuty(
        [incident, *[p for p in past if p.get("id") != incident["id"]]],
        log_entries={incident["id"]: load("log_entries.json")["log_entries"]},
        alerts={incident["id"]: load("alerts.json")["alerts"]},
        notes={incident["id"]: load("notes.json")["notes"]},
        token=TOKEN,
    )


def serve_fake(fake: FakePagerDuty, cert: Path, key: Path) -> tuple[http.server.ThreadingHTTPServer, int]:
    """The fake API over HTTPS on a loopback port, in a thread."""

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _handle(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            request = httpx2.Request(
                self.command, f"https://127.0.0.1{self.path}", headers=dict(self.headers), content=body
            )
            response = fake.handle(request)
            data = response.content
            self.send_response(response.status_code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _handle

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(cert), str(key))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


def write_config(directory: Path, api_port: int, ca: Path) -> Path:
    config = directory / "retroflow.toml"
    config.write_text(
        f'[retroflow]\ndatabase = "sqlite:///{directory / "retroflow.db"}"\noutput = "{directory / "out"}"\n'
        f'input_dir = "{directory / "input"}"\n\n'
        "[service]\ndraft_delay = 0\nworkers = 1\n\n"
        f'[plugins.file]\nevents = ["{REPLIES / "events-without-pagerduty.jsonl"}"]\n\n'
        f'[plugins.pagerduty]\ntoken = "env:BENCH_PAGERDUTY_TOKEN"\napi = "https://127.0.0.1:{api_port}"\n'
        f'ca_bundle = "{ca}"\nhistory_days = 90\nwebhook_secrets = ["env:BENCH_WEBHOOK_SECRET"]\n\n'
        "[plugins.change-before-incident]\nwindow_minutes = 60\n"
    )
    return config


def delivery(kind: str, incident: dict[str, Any], at: datetime, n: int) -> bytes:
    fixture = ROOT / "plugins/retroflow-pagerduty/tests/fixtures/pd_webhook_v3_incident.resolved.zulip_fixture.json"
    document = json.loads(fixture.read_bytes())
    event = document["event"]
    event.update(id=f"bench-{kind}-{n}", event_type=f"incident.{kind}", occurred_at=at.isoformat())
    event["data"].update(id=incident["id"], title=incident["title"], html_url=incident["html_url"])
    return json.dumps(document).encode()


def post(port: int, body: bytes) -> int:
    signature = "v1=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("POST", "/webhooks/pagerduty", body, {"X-PagerDuty-Signature": signature})
    status = connection.getresponse().status
    connection.close()
    return status


def versions(database: Path) -> int:
    connection = sqlite3.connect(database)
    try:
        return int(connection.execute("SELECT count(*) FROM retro_versions").fetchone()[0])
    except sqlite3.OperationalError:
        return 0
    finally:
        connection.close()


def drafts(port: int, database: Path, incident: dict[str, Any], rounds: int) -> list[float]:
    seconds = []
    for n in range(rounds):
        if n:  # reopen, then resolve again: a new draft, a new version
            assert post(port, delivery("reopened", incident, datetime.now(UTC), n)) == 202
        before = versions(database)
        start = time.perf_counter()
        assert post(port, delivery("resolved", incident, datetime.now(UTC), n)) == 202
        deadline = start + 60
        while versions(database) == before:
            if time.perf_counter() > deadline:
                raise SystemExit("no draft within 60 s")
            time.sleep(0.01)
        seconds.append(time.perf_counter() - start)
    return seconds


def direct_builds(config_path: Path, incident_id: str, rounds: int) -> list[float]:
    """The baseline: the build and store ``retroflow retro`` does, in this process."""
    from retroflow.app import plugin_problems
    from retroflow.config import load_config
    from retroflow.plugins import Plugins, get_plugin_manager
    from retroflow.request import RetroRequest
    from retroflow.store.build import build_and_store

    config = load_config(config_path)
    plugins = Plugins(get_plugin_manager())
    assert not plugin_problems(config, plugins)
    seconds = []
    for _ in range(rounds):
        start = time.perf_counter()
        build_and_store(
            RetroRequest(incident_ref=incident_id), plugins=plugins, config=config, progress=lambda s, m: None
        )
        seconds.append(time.perf_counter() - start)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    from retroflow.logs import configure_logging

    configure_logging(level="warning")
    os.environ.update(BENCH_PAGERDUTY_TOKEN=TOKEN, BENCH_WEBHOOK_SECRET=SECRET, RETROFLOW_LOAD_PLUGINS="pagerduty")
    with tempfile.TemporaryDirectory(prefix="retroflow-bench-automation-") as tmp:
        directory = Path(tmp)
        ca, cert, key = certificates(directory)
        fake = fake_account()
        api, api_port = serve_fake(fake, cert, key)
        config = write_config(directory, api_port, ca)
        incident = fake.incidents[0]
        log = directory / "serve.log"
        env = {**os.environ, "SSL_CERT_FILE": str(ca)}
        with open(log, "wb") as out:
            server = subprocess.Popen(
                [sys.executable, "-c", "from retroflow.cli import main; main()", "--config", str(config), "serve",
                 "--port", "0"],
                env=env, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while not (found := re.search(r"listening on http://127\.0\.0\.1:(\d+)", log.read_text())):
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit(f"serve did not start:\n{log.read_text()}")
                time.sleep(0.05)
            port = int(found[1])
            measured = drafts(port, directory / "retroflow.db", incident, args.rounds)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(60)
        baseline = direct_builds(config, incident["id"], max(5, args.rounds // 3))
        api.shutdown()
        p50, base = statistics.median(measured), statistics.median(baseline)
        print(f"resolved -> draft stored, {len(measured)} rounds: p50 {p50:.2f} s, p90 "
              f"{sorted(measured)[int(0.9 * len(measured))]:.2f} s, max {max(measured):.2f} s")  # fmt: skip
        print(f"baseline, the same build and store done directly: p50 {base:.2f} s")
        print(f"ratio (automation / direct): {p50 / base:.2f}; goal p50 < 2 s: {'met' if p50 < 2 else 'NOT met'}")
        print(f"fake PagerDuty served {len(fake.requests)} requests")


if __name__ == "__main__":
    main()
