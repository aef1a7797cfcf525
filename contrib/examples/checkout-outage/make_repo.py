"""Makes the example's Git repository: shop/checkout's history up to CHK-1042, as a bare
repository (deterministic: fixed names, e-mails and dates, so every sha is the same on
every machine; rerun it any time).

    python make_repo.py [DEST]     # default: repos/checkout.git beside this file

``DEST`` is never part of retroflow's own repository (``repos/`` here is git-ignored);
``scripts/example.sh`` and the tests run this before building the example. A DEST made from
the same history is left as it is; any other is replaced. The history is written with one
``git fast-import`` (no work tree, no hooks, no user or system git config).

The story: on main, Friday 6 November 2026, frank logs pool waits and erin merges the
delivery estimate (#417); at 17:38 PST (01:38 UTC on Saturday) alice merges #418, which
lowers the payment-client pool from 50 connections to 5, and tags v2.14.0. v2.13.2, from
3 November, is what the rollback deploys again.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_DEST = HERE / "repos" / "checkout.git"
MAIN = "refs/heads/main"
#: Inside DEST: the digest of the history it was made from.
STAMP = "retroflow-example-history"

PEOPLE = {
    "alice": ("Alice Moreau", "alice@shop.example", "-0800"),
    "erin": ("Erin Kowalski", "erin@shop.example", "+0100"),
    "frank": ("Frank Osei", "frank@shop.example", "+0000"),
}

POOL_50 = "payment_gateway: https://payments.internal.shop.example\ntimeout_ms: 2000\npool_size: 50\n"
POOL_5 = POOL_50.replace("pool_size: 50", "pool_size: 5")
APP = '"""Checkout: the cart, the payment client and order submission."""\n'
CLIENT = '"""The payments client: a pool of keep-alive connections to the payment gateway."""\n'
CLIENT_LOGGED = CLIENT + '\nPOOL_WAIT_LOG_LEVEL = "debug"\n'
CART = '"""The cart page."""\n'
CART_ESTIMATE = CART + "\nSHOW_DELIVERY_ESTIMATE = True\n"
ADDRESS = '"""Address autocomplete for the delivery form."""\n'


@dataclass(frozen=True)
class Commit:
    """One commit: ``files`` is the whole tree it records; ``merges`` the branch commit
    a merge brings in (its second parent)."""

    ref: str
    who: str
    at: str  # UTC, ISO 8601
    message: str
    files: dict[str, str]
    merges: str | None = None


@dataclass(frozen=True)
class Tag:
    name: str
    commit: str  # a commit's mark name
    who: str
    at: str
    message: str


def history() -> tuple[dict[str, Commit], list[Tag]]:
    """The commits by mark name, in the order written, and the tags."""
    base = {"README.md": "# checkout\n", "config/payment-client.yaml": POOL_50, "src/checkout/app.py": APP}
    v1 = {**base, "src/checkout/payment_client.py": CLIENT, "src/checkout/cart.py": CART}
    v2 = {**v1, "src/checkout/address.py": ADDRESS}
    v3 = {**v2, "src/checkout/payment_client.py": CLIENT_LOGGED}
    estimate = {**v2, "src/checkout/cart.py": CART_ESTIMATE}
    v4 = {**v3, "src/checkout/cart.py": CART_ESTIMATE}
    v5 = {**v4, "config/payment-client.yaml": POOL_5}
    main, pr409, pr417, pr418 = MAIN, "refs/pull/409/head", "refs/pull/417/head", "refs/pull/418/head"
    commits = [
        ("init", Commit(main, "alice", "2026-09-14T09:12:00", "Checkout: cart, payment client, order submission\n", v1)),
        ("address", Commit(pr409, "erin", "2026-11-02T15:40:00", "Address autocomplete on the delivery form\n", v2)),
        (
            "v2.13.2",
            Commit(
                main, "erin", "2026-11-03T10:02:00",
                "Merge pull request #409 from shop/erin/address\n\nAddress autocomplete on the delivery form\n",
                v2, merges="address",
            ),
        ),
        ("estimate", Commit(pr417, "erin", "2026-11-06T11:40:00", "Cart: show the delivery estimate\n", estimate)),
        ("logging", Commit(main, "frank", "2026-11-06T13:20:00", "Log payment-client pool waits at debug level\n", v3)),
        (
            "merge-417",
            Commit(
                main, "erin", "2026-11-06T16:05:00",
                "Merge pull request #417 from shop/erin/estimate\n\nCart: show the delivery estimate\n",
                v4, merges="estimate",
            ),
        ),
        (
            "pool",
            Commit(
                pr418, "alice", "2026-11-06T22:10:00",
                "payment-client: lower the pool size to 5\n\nFewer connections per pod: the payments team asked us "
                "to stay under their gateway's connection limit.\n",
                v5,
            ),
        ),
        (
            "v2.14.0",
            Commit(
                main, "alice", "2026-11-07T01:38:00",
                "Merge pull request #418 from shop/alice/pool\n\npayment-client: lower the pool size to 5\n",
                v5, merges="pool",
            ),
        ),
    ]  # fmt: skip
    tags = [
        Tag("v2.13.2", "v2.13.2", "erin", "2026-11-03T10:20:00", "v2.13.2: address autocomplete\n"),
        Tag("v2.14.0", "v2.14.0", "alice", "2026-11-07T01:43:00", "v2.14.0: delivery estimate, smaller pool\n"),
    ]
    return dict(commits), tags


def _stamp(who: str, at: str) -> str:
    name, email, zone = PEOPLE[who]
    seconds = int(datetime.fromisoformat(at + "+00:00").timestamp())
    return f"{name} <{email}> {seconds} {zone}"


def _data(text: str) -> Iterator[str]:
    body = text.encode()
    yield f"data {len(body)}\n"
    yield text + "\n"


def fast_import_stream() -> str:
    """The whole history as a ``git fast-import`` stream (marks are positions)."""
    commits, tags = history()
    marks = {name: index for index, name in enumerate(commits, start=1)}
    last: dict[str, str] = {}  # ref -> the mark name of its tip
    lines: list[str] = []
    for name, commit in commits.items():
        lines += [f"commit {commit.ref}\n", f"mark :{marks[name]}\n"]
        lines += [f"author {_stamp(commit.who, commit.at)}\n", f"committer {_stamp(commit.who, commit.at)}\n"]
        lines += _data(commit.message)
        # A branch starts from main's tip at the time.
        parent = last.get(commit.ref) or last.get(MAIN)
        if parent is not None:
            lines.append(f"from :{marks[parent]}\n")
        if commit.merges is not None:
            lines.append(f"merge :{marks[commit.merges]}\n")
        lines.append("deleteall\n")
        for path, content in sorted(commit.files.items()):
            lines += [f"M 100644 inline {path}\n", *_data(content)]
        lines.append("\n")
        last[commit.ref] = name
    for tag in tags:
        lines += [f"tag {tag.name}\n", f"from :{marks[tag.commit]}\n", f"tagger {_stamp(tag.who, tag.at)}\n"]
        lines += _data(tag.message)
    return "".join(lines)


def _git(*args: str, cwd: Path, stdin: str | None = None) -> str:
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, "LC_ALL": "C"}
    done = subprocess.run(["git", *args], cwd=cwd, input=stdin, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(f"make_repo: git {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def make_repo(dest: Path = DEFAULT_DEST) -> Path:
    """The bare repository at ``dest``, made unless it already holds this history."""
    stream = fast_import_stream()
    digest = hashlib.sha256(stream.encode()).hexdigest()
    if (dest / STAMP).is_file() and (dest / STAMP).read_text().strip() == digest:
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f".{dest.name}-", dir=dest.parent))
    try:
        _git("init", "--bare", "--quiet", ".", cwd=building)
        _git("fast-import", "--quiet", "--done", cwd=building, stdin=stream + "done\n")
        _git("symbolic-ref", "HEAD", "refs/heads/main", cwd=building)
        (building / STAMP).write_text(digest + "\n")
        # Replace an older history; another process that got there first wins.
        if dest.exists() and not ((dest / STAMP).is_file() and (dest / STAMP).read_text().strip() == digest):
            shutil.rmtree(dest)
        try:
            building.rename(dest)
        except OSError:
            if not (dest / STAMP).is_file():
                raise
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return dest


def shas(repo: Path) -> dict[str, str]:
    """Each tag's commit, main's tip and its tree."""
    names = {"v2.13.2": "v2.13.2^{commit}", "v2.14.0": "v2.14.0^{commit}", "main": "main", "main-tree": "main^{tree}"}
    out = _git("rev-parse", *names.values(), cwd=repo).split()
    return dict(zip(names, out, strict=True))


def main() -> None:
    dest = Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else DEFAULT_DEST
    print(make_repo(dest))


if __name__ == "__main__":
    main()
