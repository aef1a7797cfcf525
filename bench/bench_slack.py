"""Benchmark: reading a 50,000-message Slack export against a bare ``json.loads`` of it.

    .venv/bin/python bench/bench_slack.py [--messages 50000] [--pairs 9]

Writes a workspace export (``channels.json``, ``users.json``, one file per day in the
channel's folder; messages shaped like Slack's own export: ``user_profile``, ``blocks``,
threads, reactions, joins, bot alerts) to ``bench/data/slack-<N>/``, then times two whole
processes side by side, alternating, ``--pairs`` times:

* baseline: ``python -c`` reading every JSON file of the export with ``json.loads``;
* source: a process that imports the Slack source and collects the channel from the
  export — every message in the incident's window typed, named, masked, made an event —
  with the garbage collector paused, as ``build_retro`` runs every source.

Reported: the median of the pairs' ratios (target, issue 12: ≤ 3×), and each side's median.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

START = datetime(2026, 11, 3, 0, 0, tzinfo=UTC)
CHANNEL = "C0BENCH01"
PEOPLE = [f"U0PERSON{n:02d}" for n in range(12)]
# A third of the lines state a belief or a decision, as in the incident channels the
# examples come from; the rest is status, questions, links and acknowledgements. Every
# message's text is made unique (a number), so nothing is read twice for free.
PHRASES = [
    "I think it's the payments-api pool again",
    "looks like checkout latency is back to normal",
    "let's roll back checkout because the v2.14.0 deploy changed the pool size",
    "we're going to fail over to eu-west",
    "the dashboard looks green to me",
    "probably DNS, it's always DNS",
    "decided: keep the flag off until the fix lands",
    "can someone check the cart logs? <@U0PERSON03>",
    "see <https://grafana.example.com/d/abc?orgId=1|the board>",
    "ack, on it",
    "restarted the consumer, watching the lag now",
    "error rate on checkout is 7% and climbing",
    "p99 for payments-api is 2.3 s",
    "who owns the cart service?",
    "status page updated",
    "pulling up the traces for the failing requests",
    "no change after the restart",
    "paging the payments on-call",
    "CPU on the db primary is at 40%",
    "+1",
]


def _message(rng: random.Random, n: int, at: datetime) -> dict[str, object]:
    ts = f"{int(at.timestamp())}.{n % 1_000_000:06d}"
    if n % 200 == 0:
        return {
            "type": "message",
            "subtype": "channel_join",
            "ts": ts,
            "user": rng.choice(PEOPLE),
            "text": "has joined the channel",
        }
    if n % 50 == 0:
        return {
            "type": "message",
            "subtype": "bot_message",
            "ts": ts,
            "bot_id": "B0DDOG",
            "username": "Datadog",
            "text": "",
            "attachments": [
                {
                    "id": 1,
                    "color": "d00000",
                    "fallback": f"[Triggered] checkout 5xx rate > 5% ({n})",
                    "title": "[Triggered] checkout 5xx rate > 5%",
                }
            ],
        }
    user = rng.choice(PEOPLE)
    text = f"{rng.choice(PHRASES)} (#{n})"
    message: dict[str, object] = {
        "client_msg_id": f"00000000-0000-4000-8000-{n:012d}",
        "type": "message",
        "text": text,
        "user": user,
        "ts": ts,
        "team": "T0BENCH01",
        "user_team": "T0BENCH01",
        "source_team": "T0BENCH01",
        "user_profile": {"avatar_hash": "g0123456789a", "image_72": "https://a.slack-edge.com/x.png",
                         "first_name": user, "real_name": f"Person {user[-2:]}", "display_name": f"p{user[-2:]}",
                         "team": "T0BENCH01", "name": user.lower(), "is_restricted": False,
                         "is_ultra_restricted": False},
        "blocks": [{"type": "rich_text", "block_id": f"b{n}", "elements": [
            {"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}]}],
    }  # fmt: skip
    if n % 10 == 1:
        message["thread_ts"] = f"{int(at.timestamp()) - 60}.{(n - 1) % 1_000_000:06d}"
        message["parent_user_id"] = PEOPLE[0]
    if n % 97 == 0:
        message["reactions"] = [{"name": "pushpin", "users": [PEOPLE[1]], "count": 1}]
    return message


def write_export(folder: Path, count: int, seed: int = 12) -> None:
    rng = random.Random(seed)
    step = timedelta(days=3) / count
    days: dict[str, list[dict[str, object]]] = {}
    for n in range(count):
        at = START + step * n
        days.setdefault(at.date().isoformat(), []).append(_message(rng, n, at))
    (folder / "inc-bench").mkdir(parents=True, exist_ok=True)
    (folder / "channels.json").write_text(json.dumps([{"id": CHANNEL, "name": "inc-bench"}]))
    users = [{"id": p, "name": p.lower(), "profile": {"display_name": f"p{p[-2:]}", "real_name": f"Person {p[-2:]}"}}
             for p in PEOPLE]  # fmt: skip
    (folder / "users.json").write_text(json.dumps(users))
    for day, messages in days.items():
        (folder / "inc-bench" / f"{day}.json").write_text(json.dumps(messages, indent=4))
    (folder / "retroflow.toml").write_text(f'[plugins.slack]\nexport = "{folder.resolve()}"\nchannel = "inc-bench"\n')


BASELINE = """
import json, sys
from pathlib import Path
folder = Path(sys.argv[1])
for path in [folder / "users.json", folder / "channels.json", *sorted((folder / "inc-bench").glob("*.json"))]:
    json.loads(path.read_bytes())
"""

SOURCE = """
import sys
from pathlib import Path
from retroflow import Incident, parse_timestamp
from retroflow.config import load_config
from retroflow.engine import paused_gc
from retroflow_slack import SlackSettings, SlackSource
folder = Path(sys.argv[1])
config = load_config(folder / "retroflow.toml")
config.validate_plugins({"slack": SlackSettings})
incident = Incident(id="BENCH-1", created=parse_timestamp("2026-11-03T00:00:00Z"),
                    resolved=parse_timestamp("2026-11-06T00:00:00Z"))
with paused_gc():  # as in every build: the engine runs the sources with the collector paused
    result = SlackSource().retroflow_timeline_source(config, incident)
print(len(result.events))
"""


def run(code: str, folder: Path) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code, str(folder)], check=True, capture_output=True, text=True)
    return time.perf_counter() - started, done.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--pairs", type=int, default=9)
    args = parser.parse_args()
    folder = Path(__file__).parent / "data" / f"slack-{args.messages}"
    if not (folder / "retroflow.toml").exists():
        write_export(folder, args.messages)
    size = sum(p.stat().st_size for p in folder.rglob("*.json"))
    run(BASELINE, folder), run(SOURCE, folder)  # warm the page cache and the bytecode
    base_times, source_times, ratios = [], [], []
    events = ""
    for _ in range(args.pairs):
        base, _ = run(BASELINE, folder)
        source, events = run(SOURCE, folder)
        base_times.append(base)
        source_times.append(source)
        ratios.append(source / base)
    print(f"export: {args.messages:,} messages, {size / 1e6:.1f} MB of JSON; events made: {events}")
    print(f"baseline (python + json.loads of every file): median {statistics.median(base_times) * 1000:.0f} ms")
    print(f"Slack source (python + import + read + map):  median {statistics.median(source_times) * 1000:.0f} ms")
    print(
        f"ratio: median of {args.pairs} alternating pairs {statistics.median(ratios):.2f}x (target <= 3x); "
        f"range {min(ratios):.2f}x-{max(ratios):.2f}x"
    )


if __name__ == "__main__":
    main()
