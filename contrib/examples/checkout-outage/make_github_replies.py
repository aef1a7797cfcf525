"""Writes github/: the checkout repository's deploy history around CHK-1042 as saved
replies of GitHub's REST API (deterministic; rerun to regenerate), laid out as the
``github-deploys`` source of retroflow-github reads them (``docs/sources.md#github``).

The made-up shop runs GitHub Enterprise Server at github.example.com
(``api_url = "https://github.example.com/api/v3"``), so each reply is saved at its path
under ``/api/v3``. Each is shaped as GitHub answers (the reply schemas of its OpenAPI
description; ``plugins/retroflow-github/tests/test_example_replies.py`` checks them):

* ``repos/shop/checkout/deployments.json`` — ``GET …/deployments?environment=production``,
  newest first: the rollback to v2.13.2 (03:06 UTC), v2.14.0 (01:47), and the v2.13.2
  deploy of 3 November, older than the window, where reading stops;
* ``repos/shop/checkout/deployments/<id>/statuses.json`` — the two deployments in the
  window: ``in_progress``, then ``success``;
* ``repos/shop/checkout/releases.json`` — v2.14.0, published at 01:44, and v2.13.2;
* ``repos/shop/checkout/actions/workflows/deploy.yml/runs.json`` — the runs of the
  Deploy workflow (``workflow_dispatch`` on main) in the window, as the ``created`` filter
  returns them: #562 by alice deploying v2.14.0, #563 by bob rolling back.

The deployed shas are the example repository's (``make_repo.py``), read from a copy made in
a temporary directory.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from make_repo import make_repo, shas

HERE = Path(__file__).resolve().parent
OUT = HERE / "github"
WEB = "https://github.example.com"
API = f"{WEB}/api/v3"
REPO = "shop/checkout"
USERS = {"alice": 31, "bob": 47, "erin": 52, "shop": 12, "github": 9919}
ENVIRONMENT_URL = "https://shop.example.com"
WORKFLOW_ID = 5512


def user(login: str, kind: str = "User") -> dict[str, Any]:
    """A ``simple-user`` as GitHub Enterprise Server writes one."""
    number = USERS[login]
    base = f"{API}/users/{login}"
    return {
        "login": login,
        "id": number,
        "node_id": f"MDQ6VXNlcj{number:02d}",
        "avatar_url": f"{WEB}/avatars/u/{number}?",
        "gravatar_id": "",
        "url": base,
        "html_url": f"{WEB}/{login}",
        "followers_url": f"{base}/followers",
        "following_url": f"{base}/following{{/other_user}}",
        "gists_url": f"{base}/gists{{/gist_id}}",
        "starred_url": f"{base}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{base}/subscriptions",
        "organizations_url": f"{base}/orgs",
        "repos_url": f"{base}/repos",
        "events_url": f"{base}/events{{/privacy}}",
        "received_events_url": f"{base}/received_events",
        "type": kind,
        "user_view_type": "public",
        "site_admin": False,
    }


def actions_app() -> dict[str, Any]:
    """GitHub Actions, the app that writes deployments for a workflow's environment."""
    return {
        "id": 15368,
        "slug": "github-actions",
        "node_id": "MDM6QXBwMTUzNjg=",
        "owner": user("github", "Organization"),
        "name": "GitHub Actions",
        "description": "Automate your workflow from idea to production",
        "external_url": f"{WEB}/features/actions",
        "html_url": f"{WEB}/apps/github-actions",
        "created_at": "2018-07-30T09:30:17Z",
        "updated_at": "2024-04-10T20:33:16Z",
        "permissions": {"actions": "write", "deployments": "write", "contents": "write", "metadata": "read"},
        "events": ["deployment", "deployment_status", "push", "release", "workflow_dispatch"],
    }


def deployment(number: int, sha: str, ref: str, creator: str, created: str, description: str) -> dict[str, Any]:
    url = f"{API}/repos/{REPO}/deployments/{number}"
    return {
        "url": url,
        "id": number,
        "node_id": f"DE_kwDOAB{number}",
        "task": "deploy",
        "original_environment": "production",
        "environment": "production",
        "description": description,
        "created_at": created,
        "updated_at": created,
        "statuses_url": f"{url}/statuses",
        "repository_url": f"{API}/repos/{REPO}",
        "creator": user(creator),
        "sha": sha,
        "ref": ref,
        "payload": {},
        "transient_environment": False,
        "production_environment": True,
        "performed_via_github_app": actions_app(),
    }


def status(deployed: dict[str, Any], number: int, state: str, at: str, run: int, job: int) -> dict[str, Any]:
    log = f"{WEB}/{REPO}/actions/runs/{run}/job/{job}"
    return {
        "url": f"{deployed['url']}/statuses/{number}",
        "id": number,
        "node_id": f"DES_kwDOAB{number}",
        "state": state,
        "creator": deployed["creator"],
        "description": "",
        "environment": "production",
        "target_url": log,
        "created_at": at,
        "updated_at": at,
        "deployment_url": deployed["url"],
        "repository_url": deployed["repository_url"],
        "environment_url": ENVIRONMENT_URL,
        "log_url": log,
        "performed_via_github_app": actions_app(),
    }


def release(number: int, tag: str, author: str, created: str, published: str, body: str) -> dict[str, Any]:
    url = f"{API}/repos/{REPO}/releases/{number}"
    return {
        "url": url,
        "assets_url": f"{url}/assets",
        "upload_url": f"{WEB}/api/uploads/repos/{REPO}/releases/{number}/assets{{?name,label}}",
        "html_url": f"{WEB}/{REPO}/releases/tag/{tag}",
        "id": number,
        "author": user(author),
        "node_id": f"RE_kwDOAB{number}",
        "tag_name": tag,
        "target_commitish": "main",
        "name": tag,
        "draft": False,
        "immutable": False,
        "prerelease": False,
        "created_at": created,
        "updated_at": published,
        "published_at": published,
        "assets": [],
        "tarball_url": f"{API}/repos/{REPO}/tarball/{tag}",
        "zipball_url": f"{API}/repos/{REPO}/zipball/{tag}",
        "body": body,
    }


def repository() -> dict[str, Any]:
    """The ``minimal-repository`` a workflow run carries."""
    base = f"{API}/repos/{REPO}"
    templated = {
        "keys": "/keys{/key_id}", "collaborators": "/collaborators{/collaborator}", "issue_events": "/issues/events{/number}",
        "assignees": "/assignees{/user}", "branches": "/branches{/branch}", "blobs": "/git/blobs{/sha}",
        "git_tags": "/git/tags{/sha}", "git_refs": "/git/refs{/sha}", "trees": "/git/trees{/sha}",
        "statuses": "/statuses/{sha}", "commits": "/commits{/sha}", "git_commits": "/git/commits{/sha}",
        "comments": "/comments{/number}", "issue_comment": "/issues/comments{/number}", "contents": "/contents/{+path}",
        "compare": "/compare/{base}...{head}", "archive": "/{archive_format}{/ref}", "issues": "/issues{/number}",
        "pulls": "/pulls{/number}", "milestones": "/milestones{/number}",
        "notifications": "/notifications{?since,all,participating}", "labels": "/labels{/name}",
        "releases": "/releases{/id}",
    }  # fmt: skip
    plain = ["forks", "teams", "hooks", "events", "tags", "languages", "stargazers", "contributors"]
    plain += ["subscribers", "subscription", "merges", "downloads", "deployments"]
    urls = {f"{name}_url": base + path for name, path in templated.items()}
    urls.update({f"{name}_url": f"{base}/{name}" for name in plain})
    return {
        "id": 3307,
        "node_id": "R_kgDOAAAM6w",
        "name": "checkout",
        "full_name": REPO,
        "private": True,
        "owner": user("shop", "Organization"),
        "html_url": f"{WEB}/{REPO}",
        "description": "Checkout: cart, payment client, order submission",
        "fork": False,
        "url": base,
        **dict(sorted(urls.items())),
    }


def run(number: int, run_number: int, actor: str, version: str, commits: dict[str, str], times: str) -> dict[str, Any]:
    """A completed run of the Deploy workflow on main (``times``: created..updated)."""
    created, updated = times.split("..")
    head = commits["main"]
    base = f"{API}/repos/{REPO}/actions/runs/{number}"
    return {
        "id": number,
        "name": "Deploy",
        "node_id": f"WFR_kwLOAB{number}",
        "head_branch": "main",
        "head_sha": head,
        "path": ".github/workflows/deploy.yml",
        "display_title": f"Deploy {version} to production",
        "run_number": run_number,
        "event": "workflow_dispatch",
        "status": "completed",
        "conclusion": "success",
        "workflow_id": WORKFLOW_ID,
        "check_suite_id": number * 3,
        "check_suite_node_id": f"CS_kwDOAB{number * 3}",
        "url": base,
        "html_url": f"{WEB}/{REPO}/actions/runs/{number}",
        "pull_requests": [],
        "created_at": created,
        "updated_at": updated,
        "actor": user(actor),
        "run_attempt": 1,
        "referenced_workflows": [],
        "run_started_at": created,
        "triggering_actor": user(actor),
        "jobs_url": f"{base}/jobs",
        "logs_url": f"{base}/logs",
        "check_suite_url": f"{API}/repos/{REPO}/check-suites/{number * 3}",
        "artifacts_url": f"{base}/artifacts",
        "cancel_url": f"{base}/cancel",
        "rerun_url": f"{base}/rerun",
        "previous_attempt_url": None,
        "workflow_url": f"{API}/repos/{REPO}/actions/workflows/{WORKFLOW_ID}",
        "head_commit": {
            "id": head,
            "tree_id": commits["main-tree"],
            "message": "Merge pull request #418 from shop/alice/pool\n\npayment-client: lower the pool size to 5",
            "timestamp": "2026-11-07T01:38:00Z",
            "author": {"name": "Alice Moreau", "email": "alice@shop.example"},
            "committer": {"name": "Alice Moreau", "email": "alice@shop.example"},
        },
        "repository": repository(),
        "head_repository": repository(),
    }


def replies(commits: dict[str, str]) -> dict[str, Any]:
    """Each saved reply by its path under ``github/``."""
    new, old = commits["v2.14.0"], commits["v2.13.2"]
    rollback = deployment(90412, old, "v2.13.2", "bob", "2026-11-07T03:06:02Z", "Deploy v2.13.2 to production")
    forward = deployment(90398, new, "v2.14.0", "alice", "2026-11-07T01:47:31Z", "Deploy v2.14.0 to production")
    earlier = deployment(90211, old, "v2.13.2", "erin", "2026-11-03T10:31:12Z", "Deploy v2.13.2 to production")
    path = f"repos/{REPO}"
    return {
        f"{path}/deployments.json": [rollback, forward, earlier],
        f"{path}/deployments/90398/statuses.json": [
            status(forward, 184377, "success", "2026-11-07T01:52:00Z", 771204, 1930551),
            status(forward, 184362, "in_progress", "2026-11-07T01:47:40Z", 771204, 1930551),
        ],
        f"{path}/deployments/90412/statuses.json": [
            status(rollback, 184519, "success", "2026-11-07T03:14:00Z", 771391, 1930982),
            status(rollback, 184497, "in_progress", "2026-11-07T03:06:10Z", 771391, 1930982),
        ],
        f"{path}/releases.json": [
            release(
                41388,
                "v2.14.0",
                "alice",
                "2026-11-07T01:38:00Z",
                "2026-11-07T01:44:00Z",
                "* Cart: show the delivery estimate (#417)\n* payment-client: lower the pool size to 5 (#418)",
            ),
            release(
                41207,
                "v2.13.2",
                "erin",
                "2026-11-03T10:02:00Z",
                "2026-11-03T10:22:00Z",
                "* Address autocomplete on the delivery form (#409)",
            ),
        ],
        f"{path}/actions/workflows/deploy.yml/runs.json": {
            "total_count": 2,
            "workflow_runs": [
                run(771391, 563, "bob", "v2.13.2", commits, "2026-11-07T03:05:50Z..2026-11-07T03:14:12Z"),
                run(771204, 562, "alice", "v2.14.0", commits, "2026-11-07T01:47:05Z..2026-11-07T01:52:07Z"),
            ],
        },
    }


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        repo = make_repo(Path(scratch) / "checkout.git")
        commits = shas(repo)
    for name, body in replies(commits).items():
        path = OUT / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(body, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
