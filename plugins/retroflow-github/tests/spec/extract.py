"""Rebuild ``github-issues.extract.json`` from GitHub's OpenAPI description.

Usage: python extract.py path/to/api.github.com.json[.gz] > github-issues.extract.json

Keeps only the operations the sink calls, with the parameters, responses and schemas they
reference; schemas in ``SHALLOW`` are kept as "any value" (they describe repositories,
apps and the like, which the sink never reads).
"""

from __future__ import annotations

import gzip
import json
import sys
from typing import Any

OPERATIONS = {
    "/repos/{owner}/{repo}/issues": ["get", "post"],
    "/repos/{owner}/{repo}/issues/{issue_number}": ["get"],
}
SHALLOW = {
    "repository",
    "nullable-repository",
    "integration",
    "nullable-integration",
    "simple-user",
    "nullable-simple-user",
    "author-association",
    "reaction-rollup",
    "sub-issues-summary",
    "issue-dependencies-summary",
    "issue-type",
    "nullable-issue-type",
    "issue-field-value",
    "pinned-issue-comment",
    "nullable-pinned-issue-comment",
    "nullable-milestone",
}


def refs(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/"):
            found.add(ref)
        for value in node.values():
            found |= refs(value)
    elif isinstance(node, list):
        for value in node:
            found |= refs(value)
    return found


def main(path: str) -> None:
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as file:
        spec = json.load(file)
    paths = {p: {m: spec["paths"][p][m] for m in methods} for p, methods in OPERATIONS.items()}
    components: dict[str, dict[str, Any]] = {}
    pending = sorted(refs(paths))
    while pending:
        ref = pending.pop()
        _, _, kind, name = ref.split("/", 3)
        if name in components.get(kind, {}):
            continue
        if kind == "schemas" and name in SHALLOW:
            node: Any = {"description": f"{name} (not extracted: any value)"}
            if spec["components"][kind][name].get("nullable"):
                node["nullable"] = True
        else:
            node = spec["components"][kind][name]
            pending.extend(sorted(refs(node)))
        components.setdefault(kind, {})[name] = node
    out = {
        "openapi": spec["openapi"],
        "info": {"title": spec["info"]["title"], "version": spec["info"]["version"]},
        "paths": paths,
        "components": {kind: dict(sorted(items.items())) for kind, items in sorted(components.items())},
    }
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1])
