"""Rebuild ``jira-platform-v3.extract.json`` from Atlassian's full OpenAPI document.

Usage: python extract.py path/to/swagger-v3.v3.json > jira-platform-v3.extract.json

Keeps only the operations the sink calls (Jira REST v3 paths; the v2 paths the sink uses
are the same operations with ``/rest/api/2/``) and the component schemas they reference.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from retroflow.testing import json_refs

OPERATIONS = {
    "/rest/api/3/issue/bulk": ["post"],
    "/rest/api/3/search/jql": ["get"],
    "/rest/api/3/issue/{issueIdOrKey}/remotelink": ["post"],
}
# Schemas whose own references are not followed (IssueBean pulls in most of the API).
SHALLOW = {"IssueBean", "IssueUpdateDetails"}


def refs(node: Any) -> set[str]:
    """The names of the schemas ``node`` refers to."""
    return {ref.rsplit("/", 1)[-1] for ref in json_refs(node, "#/components/schemas/")}


def main(path: str) -> None:
    with open(path, encoding="utf-8") as file:
        spec = json.load(file)
    paths = {p: {m: spec["paths"][p][m] for m in methods} for p, methods in OPERATIONS.items()}
    schemas: dict[str, Any] = {}
    pending = sorted(refs(paths))
    while pending:
        name = pending.pop()
        if name in schemas:
            continue
        schemas[name] = spec["components"]["schemas"][name]
        if name not in SHALLOW:
            pending.extend(sorted(refs(schemas[name]) - set(schemas)))
    out = {
        "openapi": spec["openapi"],
        "info": {"title": spec["info"]["title"], "version": spec["info"]["version"]},
        "paths": paths,
        "components": {"schemas": dict(sorted(schemas.items()))},
    }
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1])
