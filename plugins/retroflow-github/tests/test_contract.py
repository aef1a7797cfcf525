"""Every request the sink makes is an operation of GitHub's OpenAPI description, with known
query parameters and a body its schema accepts; the fake replies match the reply schemas."""

from __future__ import annotations

import copy
from typing import Any

import responses

from .openapi import Spec

ISSUES_SPEC = Spec("github-issues")
SPEC = ISSUES_SPEC.doc
API = "https://api.github.com"
ISSUES = f"{API}/repos/acme/shop/issues"


def example_issue(number: int, body: str) -> dict[str, Any]:
    issue = copy.deepcopy(SPEC["components"]["examples"]["issue"]["value"])
    issue.pop("pull_request", None)
    issue.update(number=number, body=body, labels=[{"id": 1, "name": "retroflow", "color": "ededed"}])
    return issue


def test_every_request_of_a_full_export_is_a_spec_operation(
    make_client: Any, retro_with: Any, drafts: Any, mocked: responses.RequestsMock
) -> None:
    client = make_client()
    mocked.post(ISSUES, status=429, headers={"retry-after": "1"})
    mocked.post(ISSUES, json=example_issue(7, "<!-- retroflow:k-act000 -->"), status=201)
    page2 = f"{ISSUES}?labels=retroflow&state=all&per_page=100&page=2"
    mocked.get(ISSUES, json=[example_issue(3, "")], headers={"Link": f'<{page2}>; rel="next"'})
    mocked.get(page2, json=[example_issue(7, "<!-- retroflow:k-act000 -->")])
    mocked.get(f"{ISSUES}/7", json=example_issue(7, "<!-- retroflow:k-act000 -->"))

    (ref,) = client.create(drafts(retro_with(1)))
    assert client.find("k-act000") == ref
    client.status([ref])  # type: ignore[list-item]

    assert len(mocked.calls) == 5
    for call in mocked.calls:
        reply = call.response.json() if call.response.status_code < 300 else None
        ISSUES_SPEC.check_call(
            call.request.method, call.request.url, call.request.body, call.response.status_code, reply
        )
