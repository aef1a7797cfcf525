"""Writes events-without-pagerduty.jsonl: ``../events.jsonl`` without what the saved
PagerDuty replies here already say (deterministic; rerun after regenerating ../events.jsonl).

Left out: the events whose source is ``pagerduty`` (the replies hold the real log entries),
and the two Datadog alerts that reached PagerDuty (the replies hold them as PagerDuty alerts).
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).parent
CARRIED_BY_PAGERDUTY = {"alert-5xx-1", "alert-5xx-2"}


def main() -> None:
    kept = []
    for line in (HERE.parent / "events.jsonl").read_text(encoding="utf-8").splitlines():
        event = json.loads(line)
        if event.get("source") == "pagerduty" or event.get("id") in CARRIED_BY_PAGERDUTY:
            continue
        kept.append(line)
    (HERE / "events-without-pagerduty.jsonl").write_text("\n".join(kept) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
