"""Generate ``docs/hooks.md`` from ``hookspecs.py`` (the hook reference).

    python -m retroflow._hookdocs > docs/hooks.md

``tests/core/test_docs.py`` fails when the file and the specs drift.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any

from retroflow import hookspecs

INTRO = """# Hook reference

Every extension point of retroflow is a [pluggy](https://pluggy.readthedocs.io) hook,
declared in `src/retroflow/hookspecs.py`. This page is generated from that file
(`python -m retroflow._hookdocs > docs/hooks.md`) and a test fails when they differ.

Implement a hook with the `hookimpl` marker; accept only the arguments you need:

```python
from retroflow import hookimpl

@hookimpl
def retroflow_timeline_source(request, config):
    ...
```

Hooks in the order a retro uses them:

| hook | role | called |
|---|---|---|
| `retroflow_register_settings` | plugin configuration | once, when plugins load |
| `retroflow_register_commands` | CLI commands | once, when the CLI starts |
| `retroflow_timeline_source` | stage 1: reconstruct | per retro, concurrently, each with a timeout |
| `retroflow_find_factors` | stage 2: contributing conditions | per retro, one implementation at a time |
| `retroflow_propose_actions` | stage 3: system changes | per retro, one at a time |
| `retroflow_review_actions` | stage 3: review | per retro, one at a time |
| `retroflow_register_scoring_models` | stage 4: prioritise | once, when plugins load |
| `retroflow_register_tracker_sinks` | stage 5: close the loop | once, when plugins load |
| `retroflow_register_outcome_metrics` | stage 5: close the loop | once, when plugins load |
| `retroflow_register_renderers` | documents | once, when plugins load |
| `retroflow_register_webhooks` | automation: webhook receivers | once, when plugins load |
| `retroflow_register_incident_feeds` | automation: polling for resolved incidents | once, when plugins load |
| `retroflow_retro_drafted` | automation: a draft was stored | per draft, one implementation at a time |
| `retroflow_register_routes` | automation: HTTP routes of `retroflow serve` | once, when the app is built |

The objects the `register_*` hooks take are described as protocols in
`src/retroflow/roles.py` (`ScoringModel`, `TrackerSink`/`TrackerClient`,
`OutcomeMetric`, `Renderer`, `WebhookReceiver`, `IncidentFeed`); the data crossing hooks is the frozen model in
`src/retroflow/model.py` (see [the model](model.md)).
"""


def hook_functions() -> list[tuple[str, Callable[..., Any]]]:
    return [
        (name, fn) for name, fn in inspect.getmembers(hookspecs, inspect.isfunction) if name.startswith("retroflow_")
    ]


def _markdown(doc: str) -> str:
    """Docstring reST, the little of it we use, as Markdown."""
    doc = re.sub(r":(?:class|meth|func|attr|data):`~?([^`]+)`", r"`\1`", doc)
    doc = doc.replace("``", "`")
    doc = re.sub(r"^:param (\w+):", r"- **\1**:", doc, flags=re.M)
    doc = re.sub(r"^:return:", "- **returns**:", doc, flags=re.M)
    doc = re.sub(r"^:raises (\w+):", r"- **raises** `\1`:", doc, flags=re.M)
    return doc


def render() -> str:
    parts = [INTRO]
    source = inspect.getsource(hookspecs)
    ordered = sorted(hook_functions(), key=lambda item: source.index(f"def {item[0]}("))
    for name, fn in ordered:
        signature = str(inspect.signature(fn)).replace("'", "")
        doc = _markdown(inspect.cleandoc(fn.__doc__ or ""))
        parts.append(f"## `{name}`\n\n```python\ndef {name}{signature}\n```\n\n{doc}\n")
    return "\n".join(parts)


if __name__ == "__main__":
    print(render(), end="")
