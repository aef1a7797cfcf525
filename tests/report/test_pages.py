"""``retroflow serve``'s pages over Starlette's TestClient: reading, the filters, versions and
their diff, access (anonymous, token, proxy header), CSRF, and the forms recording input as
``retroflow input`` does, then the rebuild job storing the next version."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs
import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from retroflow.cli import cli
from retroflow.config import ServiceAuth, parse_config
from retroflow.errors import ConfigError
from retroflow.model import ActionItem, Retro
from retroflow.service.app import create_app
from retroflow.service.auth import SESSION_COOKIE, session_value
from retroflow.service.diff import retro_diff
from retroflow.service.draft import JobContext, rebuild_key, run_rebuild
from retroflow.service.server import build_service
from retroflow.store.build import store_for
from retroflow.testing import build, make_event, make_incident

from .conftest import TOKEN_ENV, WRITER, WRITER_TOKEN, Page, site_config, store_retro


@attrs.define
class Site:
    client: TestClient
    service: Any
    retro: Retro

    def csrf(self) -> str:
        if "retroflow_csrf" not in self.client.cookies:
            self.client.get("/")
        return str(self.client.cookies["retroflow_csrf"])

    def sign_in(self, token: str = WRITER_TOKEN) -> Any:
        return self.client.post("/signin", data={"token": token, "csrf": self.csrf()}, follow_redirects=False)

    def post(self, path: str, data: dict[str, str], *, csrf: str | None = None, **kwargs: Any) -> Any:
        form = {**data, "csrf": self.csrf() if csrf is None else csrf}
        return self.client.post(path, data=form, follow_redirects=False, **kwargs)

    def records(self) -> list[Any]:
        with store_for(self.service.config) as store:
            return list(store.input_records(self.retro.incident.id))

    def rebuild_jobs(self) -> list[Any]:
        return [j for j in self.service.jobs.jobs() if j.lock_key == rebuild_key(self.retro.incident.id)]

    def rebuild(self) -> str:
        (job,) = [j for j in self.rebuild_jobs() if j.state == "queued"]
        return run_rebuild(job.payload, JobContext(self.service.config, self.service.plugins, self.service.database))


def _site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, auth: str | None = None) -> Iterator[Site]:
    config, plugins = site_config(tmp_path, monkeypatch, auth=auth)
    retro = store_retro(config, plugins)
    service = build_service(config, plugins, intake=False, threads=0)
    try:
        with TestClient(create_app(service), client=("127.0.0.1", 50000)) as client:
            yield Site(client, service, retro)
    finally:
        service.database.close()


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    yield from _site(tmp_path, monkeypatch)


@pytest.fixture
def site_with(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], Site]]:
    """``site_with(auth)``: the site with ``[service.auth]`` holding ``auth``."""
    with contextlib.ExitStack() as stack:
        yield lambda auth: stack.enter_context(contextlib.contextmanager(_site)(tmp_path, monkeypatch, auth=auth))


def _reject(site: Site, key: str = "detection-gap", reason: str = "the alert fired on time", **kwargs: Any) -> Any:
    return site.post("/retros/CHK-1042/factors", {"key": key, "status": "rejected", "reason": reason}, **kwargs)


# -- reading --------------------------------------------------------------------------------


def test_every_page_reads_without_signing_in_and_loads_nothing(site: Site) -> None:
    for path in ("/", "/retros/CHK-1042", "/followups", "/outcomes", "/signin"):
        answer = site.client.get(path)
        assert answer.status_code == 200, path
        assert "default-src 'none'" in answer.headers["content-security-policy"]
        page = Page(answer.text)
        assert not {tag for tag, _ in page.tags} & {"script", "img", "iframe", "object", "embed"}, path
        assert not [a for t, a in page.tags if "src" in a or (t == "link" and a.get("href") != "data:,")], path
    retro = site.client.get("/retros/CHK-1042").text
    assert "Checkout card payments failing" in retro and 'id="timeline-table"' in retro
    assert "Read-only" not in retro and "Sign in" in retro, "a token is configured: anyone may sign in"
    assert '<form method="post"' not in retro, "no write form for a reader"


def test_unknown_incident_is_404_and_a_bad_version_400(site: Site) -> None:
    assert site.client.get("/retros/NOPE-1").status_code == 404
    for bad in ("x", "0", "-1", "1.5"):
        answer = site.client.get(f"/retros/CHK-1042?version={bad}")
        assert answer.status_code == 400 and "expected a version number" in answer.text, bad
    missing = site.client.get("/retros/CHK-1042?version=7")
    assert missing.status_code == 404 and "has no version 7 (it has 1)" in missing.text
    assert site.client.get("/retros/CHK-1042?against=3").status_code == 404


def _save(site: Site, retro: Retro) -> None:
    with store_for(site.service.config) as store:
        store.save_retro(retro, retro.incident.id)


def test_the_list_is_newest_first_and_filters_by_service_and_open_actions(site: Site) -> None:
    quiet = build([make_event("alert", 0)], incident=make_incident(id="DB-7", title="Replica lag", services=["db"]))
    _save(site, attrs.evolve(quiet, actions=()))

    def listed(query: str = "") -> list[str]:
        return re.findall(r'<th scope="row"><a href="/retros/([^"]+)">', site.client.get("/" + query).text)

    assert listed() == ["DB-7", "CHK-1042"]
    assert listed("?service=db") == ["DB-7"]
    assert listed("?service=checkout") == ["CHK-1042"]
    assert listed("?open=1") == ["CHK-1042"], "DB-7 has no actions"
    assert listed("?service=db&open=1") == []
    assert "No stored retro matches" in site.client.get("/?service=db&open=1").text
    assert "<option selected>db</option>" in site.client.get("/?service=db").text


def test_followups_list_open_actions_by_owner_with_their_state(site: Site) -> None:
    text = site.client.get("/followups").text
    actions = site.retro.actions
    assert text.count('<table class="followups">') == len({a.owner or "(no owner)" for a in actions})
    for action in actions:
        assert f'#a-{action.id}">{action.title}</a>' in text.replace("&#39;", "'")
    assert "not exported" in text
    owner = next(a.owner for a in actions if a.owner)
    only = site.client.get(f"/followups?owner={owner}").text
    assert only.count('<table class="followups">') == 1 and f"<h2>{owner} " in only


def test_outcomes_show_charts_and_verdicts_once_there_is_history(site: Site) -> None:
    text = site.client.get("/outcomes").text
    assert "No retro action has been marked done yet." in text, "the example's actions are not done"
    assert text.count("<svg") >= 3, "the three standard charts of a service"
    assert "checkout: time to restore" in text


def test_outcomes_without_history_say_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config, plugins = site_config(tmp_path, monkeypatch)
    service = build_service(config, plugins, intake=False, threads=0)
    try:
        with TestClient(create_app(service)) as client:
            assert "No outcome report yet" in client.get("/outcomes").text
            assert "No retros are stored yet" in client.get("/").text
    finally:
        service.database.close()


# -- versions ---------------------------------------------------------------------------------


def test_versions_are_listed_and_the_diff_shows_what_input_changed(site: Site) -> None:
    assert site.sign_in().status_code == 303
    assert _reject(site).status_code == 303
    assert site.rebuild() == "CHK-1042: stored version 2"
    text = site.client.get("/retros/CHK-1042").text
    assert '<strong aria-current="page">version 2</strong>' in text
    assert '<a href="/retros/CHK-1042?version=1">version 1</a>' in text
    assert "<h3>Changes since version 1</h3>" in text
    changed = re.search(r'<li class="diff-changed">Condition .*?detection-gap.*?</li>', text)
    assert changed and f"kept → <strong>rejected by {WRITER}: “the alert fired on time”</strong>" in changed.group(0)
    old = site.client.get("/retros/CHK-1042?version=1").text
    assert "This is version 1; the newest is" in old and "Changes since" not in old
    back = site.client.get("/retros/CHK-1042?version=2&against=1").text
    assert changed.group(0) in back


def test_the_diff_names_added_removed_and_changed_actions(site: Site) -> None:
    old = site.retro
    first, second, *rest = old.actions
    new = attrs.evolve(
        old,
        version=2,
        actions=(attrs.evolve(first, owner="dan"), *rest, ActionItem(id="h1", title="Practise rollbacks")),
    )
    diff = retro_diff(old, new)
    assert [(c.id, c.change) for c in diff.actions] == [
        (first.id, "changed"),
        *((a.id, "changed") for a in rest),  # each moved up one rank
        ("h1", "added"),
        (second.id, "removed"),
    ]
    assert ("owner", first.owner or "—", "dan") in diff.actions[0].fields
    assert not retro_diff(old, old)


# -- access -----------------------------------------------------------------------------------


def test_an_anonymous_write_is_refused_and_changes_nothing(site: Site) -> None:
    answer = _reject(site)
    assert answer.status_code == 403 and "sign in" in answer.text
    assert site.records() == [] and site.rebuild_jobs() == []


def test_read_only_without_auth(site_with: Callable[[str], Site]) -> None:
    site = site_with("")
    text = site.client.get("/retros/CHK-1042").text
    assert "Read-only" in text and "needs <code>[service.auth]</code>" in text
    assert site.client.get("/signin").status_code == 404
    answer = _reject(site)
    assert answer.status_code == 403 and "read-only" in answer.text
    assert site.records() == []


def test_sign_in_with_a_token_and_out(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    refused = site.sign_in("not-the-token-at-all")
    assert refused.status_code == 403 and SESSION_COOKIE not in refused.cookies
    assert site.sign_in().status_code == 303
    text = site.client.get("/retros/CHK-1042").text
    assert f"Writing as <strong>{WRITER}</strong>" in text
    assert text.count('action="/retros/CHK-1042/factors"') == len(site.retro.factors)
    assert site.post("/signout", {}).status_code == 303
    assert "Writing as" not in site.client.get("/").text
    assert WRITER_TOKEN not in capsys.readouterr().err, "the token is never logged"


def test_a_forged_or_expired_session_is_anonymous(site: Site) -> None:
    token = site.service.config.service.auth.tokens[0]
    forged = session_value(token, datetime.now(UTC).timestamp()).replace("YWxpY2U", "bWFsbG9yeQ")  # alice → mallory
    expired = session_value(token, datetime(2020, 1, 1, tzinfo=UTC).timestamp())
    for cookie in (forged, expired, "garbage", "a.b.c"):
        site.client.cookies.set(SESSION_COOKIE, cookie)
        assert _reject(site).status_code == 403, cookie
    assert site.records() == []


def test_a_trusted_proxy_names_the_writer(site_with: Callable[[str], Site]) -> None:
    site = site_with('proxy_header = "X-Forwarded-User"')
    answer = _reject(site, reason="fine", headers={"X-Forwarded-User": "bob"})
    assert answer.status_code == 303
    assert [(r.author, r.item.describe()) for r in site.records()] == [
        ("bob", "factor detection-gap: rejected — “fine”")
    ]
    untrusted = TestClient(site.client.app, client=("203.0.113.9", 4000), cookies=site.client.cookies)
    refused = untrusted.post(
        "/retros/CHK-1042/factors",
        data={"key": "blast-radius", "status": "rejected", "csrf": site.csrf()},
        headers={"X-Forwarded-User": "mallory"},
        follow_redirects=False,
    )
    assert refused.status_code == 403 and len(site.records()) == 1


@pytest.mark.parametrize(
    "csrf, headers",
    [
        ("", {}),
        ("x" * 43, {}),
        (None, {"Origin": "https://evil.example"}),
        (None, {"Sec-Fetch-Site": "cross-site"}),
    ],
    ids=["missing", "mismatched", "foreign-origin", "cross-site"],
)
def test_a_write_failing_the_csrf_check_is_refused(site: Site, csrf: str | None, headers: dict[str, str]) -> None:
    site.sign_in()
    answer = site.post(
        "/retros/CHK-1042/factors", {"key": "detection-gap", "status": "rejected"}, csrf=csrf, headers=headers
    )
    assert answer.status_code == 403 and "Not recorded" in answer.text
    assert site.records() == [] and site.rebuild_jobs() == []


@pytest.mark.parametrize("path, outcome", [("/signin", "Not signed in"), ("/signout", "Not signed out")])
def test_signing_in_or_out_checks_the_form_and_its_csrf_token(site: Site, path: str, outcome: str) -> None:
    forged = site.post(path, {"token": WRITER_TOKEN}, csrf="x" * 43)
    assert forged.status_code == 403 and f"{outcome}: the form&#39;s CSRF token is missing" in forged.text
    assert SESSION_COOKIE not in forged.cookies
    not_a_form = site.client.post(path, json={"token": WRITER_TOKEN}, follow_redirects=False)
    assert not_a_form.status_code == 415 and outcome in not_a_form.text and "expected a form" in not_a_form.text


# -- the forms record what the CLI records ---------------------------------------------------


def test_a_verdict_is_recorded_as_the_writer_and_a_rebuild_queued(site: Site) -> None:
    site.sign_in()
    answer = _reject(site)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/retros/CHK-1042?after=1&at=f-detection-gap#f-detection-gap"
    (record,) = site.records()
    assert (record.author, record.item.describe()) == (
        WRITER,
        "factor detection-gap: rejected — “the alert fired on time”",
    )
    (job,) = site.rebuild_jobs()
    assert (job.kind, job.state, dict(job.payload)) == (
        "rebuild",
        "queued",
        {"incident_id": "CHK-1042", "ref": "CHK-1042"},
    )
    assert _reject(site, reason="on time, really").status_code == 303
    assert len(site.rebuild_jobs()) == 1, "one queued rebuild per incident, however many inputs"

    waiting = site.client.get("/retros/CHK-1042?after=1&at=f-detection-gap").text
    refresh = "/retros/CHK-1042?after=1&amp;at=f-detection-gap&amp;look=1#f-detection-gap"
    assert f'<meta http-equiv="refresh" content="2; url={refresh}">' in waiting and "is being rebuilt" in waiting
    again = site.client.get("/retros/CHK-1042?after=1&at=f-detection-gap&look=1").text
    assert "look=2#f-detection-gap" in again, "each reload asks anew (a fragment alone would not reload)"
    slow = site.client.get("/retros/CHK-1042?after=1&look=90").text
    assert 'http-equiv="refresh"' not in slow and "not rebuilt yet (job 1 is queued" in slow
    site.rebuild()
    done = site.client.get("/retros/CHK-1042?after=1").text
    assert 'http-equiv="refresh"' not in done and "this is version 2" in done
    rejected = done[done.index('<article class="factor rejected" id="f-detection-gap">') :]
    assert f"rejected by {WRITER}: “on time, really”" in rejected[: rejected.index("</article>")]


def test_an_unknown_factor_or_bad_input_is_refused_with_the_reason(site: Site) -> None:
    site.sign_in()
    unknown = site.post("/retros/CHK-1042/factors", {"key": "no-such", "status": "rejected"})
    assert unknown.status_code == 400 and "has no factor &#39;no-such&#39;" in unknown.text
    for form, said in (
        ({"key": "detection-gap", "status": "maybe"}, "must be &#39;confirmed&#39; or &#39;rejected&#39;"),
        ({"title": ""}, "a new action needs a title"),
        ({"title": "Drill", "verify_target": "≤ 5 min"}, "need its metric"),
        ({"action_id": "abc"}, "say what to change"),
        ({"title": "Drill", "effort": "huge"}, "effort &#39;huge&#39; is not one of"),
        ({"at": "yesterday", "kind": "decision", "summary": "Hold"}, "is not a time"),
    ):
        kind = "factors" if "key" in form else "events" if "at" in form else "actions"
        answer = site.post(f"/retros/CHK-1042/{kind}", form)
        assert answer.status_code == 400 and said in answer.text, form
    assert site.post("/retros/NOPE/factors", {"key": "x", "status": "rejected"}).status_code == 404
    assert site.records() == []


def test_the_forms_record_exactly_what_the_cli_records(site: Site, tmp_path: Path) -> None:
    config_file = tmp_path / "cli.toml"  # the same database: the site's, and $RETROFLOW_DATABASE
    config_file.write_text(f'[retroflow]\ndatabase = "sqlite:///{tmp_path / "retroflow.db"}"\n', encoding="utf-8")
    action = site.retro.actions[0]
    site.sign_in()
    for kind, form in (
        ("events", {"at": "2026-11-07T02:40:00", "kind": "decision", "summary": "Hold the failover", "why": "db ok"}),
        ("actions", {"action_id": action.id, "owner": "dan", "due": "2026-12-01", "verify_metric": "time-to-detect"}),
    ):
        assert site.post(f"/retros/CHK-1042/{kind}", form).status_code == 303
    runner = CliRunner()
    for args in (
        ["event", "CHK-1042", "--at", "2026-11-07T02:40:00Z", "--kind", "decision", "--summary", "Hold the failover",
         "--why", "db ok"],
        ["action", "CHK-1042", action.id, "--owner", "dan", "--due", "2026-12-01", "--verify-metric", "time-to-detect"],
    ):  # fmt: skip
        result = runner.invoke(cli, ["--config", str(config_file), "input", *args, "--author", WRITER])
        assert result.exit_code == 0, result.output
    records = site.records()
    assert len(records) == 4
    assert [r.item for r in records[:2]] == [r.item for r in records[2:]]


def test_a_new_action_and_an_event_with_script_text_stay_text(site: Site) -> None:
    site.sign_in()
    script = "<script>document.title='pwned'</script>"
    assert (
        site.post(
            "/retros/CHK-1042/events", {"at": "2026-11-07T02:40", "kind": "message", "summary": script}
        ).status_code
        == 303
    )
    assert site.post("/retros/CHK-1042/actions", {"title": f"Drill {script}", "owner": "dan"}).status_code == 303
    site.rebuild()
    text = site.client.get("/retros/CHK-1042").text
    assert "<script>" not in text and "&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;" in text
    assert "Drill &lt;script&gt;" in text


def test_an_incident_title_with_script_is_escaped_everywhere(site: Site) -> None:
    title = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    _save(site, attrs.evolve(site.retro, incident=attrs.evolve(site.retro.incident, id="XSS-1", title=title)))
    for path in ("/", "/retros/XSS-1"):
        text = site.client.get(path).text
        assert "<script>" not in text and "<img" not in text, path
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in text, path


# -- settings -----------------------------------------------------------------------------------


def test_auth_settings_are_validated_and_the_token_never_shown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, WRITER_TOKEN)
    monkeypatch.setenv("SHORT_TOKEN", "abc")
    path = tmp_path / "r.toml"
    ok = parse_config(f'[service.auth]\ntokens = [{{user = "alice", token = "env:{TOKEN_ENV}"}}]\n', path)
    assert ok.service.auth.tokens[0].user == "alice" and ok.service.auth.configured
    assert WRITER_TOKEN not in repr(ok.service.auth)
    assert parse_config("", path).service.auth == ServiceAuth() and not ServiceAuth().configured
    for text, said in (
        (
            f'tokens = [{{user = "alice", token = "{WRITER_TOKEN}"}}]',
            'expected an environment reference like "env:NAME"',
        ),
        ('tokens = [{user = "alice", token = "env:SHORT_TOKEN"}]', "shorter than 16 characters"),
        (
            f'tokens = [{{user = "a", token = "env:{TOKEN_ENV}"}}, {{user = "a", token = "env:{TOKEN_ENV}"}}]',
            "listed twice",
        ),
        (
            f'tokens = [{{user = "a", token = "env:{TOKEN_ENV}"}}, {{user = "b", token = "env:{TOKEN_ENV}"}}]',
            "share a token",
        ),
        ('proxy_header = "X Forwarded"', "is not an HTTP header name"),
        ('trusted_proxies = ["proxy.local"]', "is not an IP address or network"),
    ):
        with pytest.raises(ConfigError) as info:
            parse_config(f"[service.auth]\n{text}\n", path)
        assert said in str(info.value) and "[service] auth" in str(info.value), text
        assert WRITER_TOKEN not in str(info.value)
