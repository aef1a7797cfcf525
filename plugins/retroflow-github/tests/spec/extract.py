"""Rebuild the spec extracts from GitHub's OpenAPI description.

Usage: python extract.py path/to/api.github.com.json[.gz] issues > github-issues.extract.json
       python extract.py path/to/api.github.com.json[.gz] deploys > github-deploys.extract.json

Keeps only the operations the sink (``issues``) or the deploy-history source (``deploys``)
calls, with the parameters, responses and schemas they reference; schemas in the extract's
``shallow`` set are kept as "any value" (they describe repositories, apps and the like,
which the plugin never reads).
"""

from __future__ import annotations

import gzip
import json
import sys
from typing import Any

from retroflow.testing import json_refs

#: Schemas neither plugin reads.
_NEVER_READ = {
    "repository",
    "nullable-repository",
    "integration",
    "nullable-integration",
    "author-association",
    "reaction-rollup",
}
EXTRACTS: dict[str, dict[str, Any]] = {
    "issues": {
        "operations": {
            "/repos/{owner}/{repo}/issues": ["get", "post"],
            "/repos/{owner}/{repo}/issues/{issue_number}": ["get"],
        },
        "shallow": _NEVER_READ
        | {
            "simple-user",
            "nullable-simple-user",
            "sub-issues-summary",
            "issue-dependencies-summary",
            "issue-type",
            "nullable-issue-type",
            "issue-field-value",
            "pinned-issue-comment",
            "nullable-pinned-issue-comment",
            "nullable-milestone",
        },
    },
    "deploys": {
        "operations": {
            "/repos/{owner}/{repo}": ["get"],
            "/repos/{owner}/{repo}/deployments": ["get"],
            "/repos/{owner}/{repo}/deployments/{deployment_id}/statuses": ["get"],
            "/repos/{owner}/{repo}/releases": ["get"],
            "/repos/{owner}/{repo}/actions/workflows/{workflow_id}/runs": ["get"],
        },
        # The source reads logins of users, not the rest of a repository, commit or asset.
        "shallow": _NEVER_READ
        | {
            "minimal-repository",
            "simple-commit",
            "pull-request-minimal",
            "referenced-workflow",
            "release-asset",
            "nullable-license-simple",
            "code-of-conduct-simple",
            "security-and-analysis",
            "nullable-simple-user-for-fork-parent",
        },
    },
}


def refs(node: Any) -> set[str]:
    """The components ``node`` refers to, as their ``$ref``."""
    return {"#/components/" + ref for ref in json_refs(node, "#/components/")}


def main(path: str, name: str) -> None:
    operations, shallow = EXTRACTS[name]["operations"], EXTRACTS[name]["shallow"]
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as file:
        spec = json.load(file)
    paths = {p: {m: spec["paths"][p][m] for m in methods} for p, methods in operations.items()}
    components: dict[str, dict[str, Any]] = {}
    pending = sorted(refs(paths))
    while pending:
        ref = pending.pop()
        _, _, kind, component = ref.split("/", 3)
        if component in components.get(kind, {}):
            continue
        if kind == "schemas" and component in shallow:
            node: Any = {"description": f"{component} (not extracted: any value)"}
            if spec["components"][kind][component].get("nullable"):
                node["nullable"] = True
        else:
            node = spec["components"][kind][component]
            pending.extend(sorted(refs(node)))
        components.setdefault(kind, {})[component] = node
    out = {
        "openapi": spec["openapi"],
        "info": {"title": spec["info"]["title"], "version": spec["info"]["version"]},
        "paths": paths,
        "components": {kind: dict(sorted(items.items())) for kind, items in sorted(components.items())},
    }
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "issues")
