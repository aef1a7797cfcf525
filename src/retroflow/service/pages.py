"""The pages of ``retroflow serve``: read retros, record what people know, follow actions.

* ``/``: the stored retros, newest build first; ``?service=`` and ``?open=1`` filter them;
* ``/retros/{incident}``: the HTML report of the newest version (``?version=N``: an older
  one), with the list of versions and what changed since the one before (``?against=M``:
  since version M); for a writer, the forms that record human input;
* ``POST /retros/{incident}/factors|events|actions``: record a verdict on a factor, an
  event, an action edit or a new action, exactly as ``retroflow input ...`` does (the same
  store records, the same rules), authored by the signed-in writer; then a ``rebuild`` job
  builds and stores the next version as ``retroflow retro`` does (one job per incident
  however many inputs arrive while it waits), and the page refreshes until it is stored;
* ``/followups``: open actions by owner and age, with their tickets' state;
* ``/outcomes``: charts and verdicts, once there is an outcome history;
* ``/signin``, ``/signout``: token sessions (:mod:`~retroflow.service.auth`).

Reading needs nothing; every write needs a writer (``[service.auth]``) and a matching CSRF
token: an anonymous one is answered 403 and changes nothing. The pages are as
self-contained as the report (no script, font or image fetched: a Content-Security-Policy
says so too) and autoescaped.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote, urlencode

import attrs
import structlog
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

import retroflow
from retroflow.config import Config, ServiceAuth
from retroflow.default_plugins.renderers.html import (
    TABLE,
    HtmlSettings,
    action_anchor,
    factor_anchor,
    ratio,
    report_context,
    template_environment,
    tickets_of,
)
from retroflow.errors import RetroflowError
from retroflow.model import KIND_ALIASES, Category, Effort, parse_timestamp
from retroflow.service.auth import (
    CSRF_FIELD,
    Viewer,
    csrf_problem,
    csrf_value,
    end_session,
    matching_token,
    set_csrf_cookie,
    start_session,
    viewer_of,
)
from retroflow.service.diff import retro_diff
from retroflow.service.draft import REBUILD, rebuild_key
from retroflow.service.jobs import NewJob
from retroflow.store.database import database_url, make_engine
from retroflow.store.human import (
    AddedEvent,
    FactorVerdict,
    InputItem,
    InputRefused,
    action_input,
    unknown_factor,
)
from retroflow.store.store import Store, VersionSummary, age_text, by_owner

if TYPE_CHECKING:  # the app imports this module
    from retroflow.service.app import Service

__all__ = ["SECURITY_HEADERS", "Pages", "page_routes"]

log = structlog.get_logger(__name__)

#: What the pages may load: their inline styles and nothing else (defence in depth beside
#: autoescaping: an injected script would not run).
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
#: The largest form body accepted.
MAX_FORM_BYTES = 65_536
#: Seconds between two reloads of a retro page waiting for its rebuild, and how many
#: reloads it waits at most.
REFRESH_SECONDS = 2
MOST_LOOKS = 90


class _NotFound(RetroflowError):
    pass


class _BadRequest(RetroflowError):
    pass


@attrs.frozen
class Waiting:
    """A retro page opened after recording input: the version stored before it (``after``),
    the anchor of what it changed (``at``), and how many times the page reloaded (``look``)."""

    after: int
    at: str = ""
    look: int = 0

    def query(self, **more: Any) -> str:
        return urlencode({"after": self.after, **({"at": self.at} if self.at else {}), **more})


@attrs.frozen
class Rebuild:
    """Where the rebuild after a recorded input stands: ``waiting`` (the page reloads from
    ``refresh``), ``done``, ``failed`` or ``slow`` (no more reloads), said in ``message``."""

    state: str
    message: str
    refresh: str = ""


class Pages:
    """What the pages share: the service (config, plugins, jobs) and the store, opened once."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self._store: Store | None = None
        self._lock = threading.Lock()

    @property
    def config(self) -> Config:
        return self.service.config

    @property
    def auth(self) -> ServiceAuth:
        return self.config.service.auth

    @property
    def store(self) -> Store:
        with self._lock:
            if self._store is None:
                # The service migrated the database when it started: the pages only connect.
                self._store = Store(make_engine(database_url(self.config)))
            return self._store

    def close(self) -> None:
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None

    # -- reading ------------------------------------------------------------------------

    def listing(self, service: str | None, open_only: bool) -> dict[str, Any]:
        summaries = self.store.list_retros()
        open_actions = Counter(f.incident_id for f in self.store.follow_ups())
        services = sorted({name for s in summaries for name in s.services})
        shown = [
            s
            for s in summaries
            if (service is None or service in s.services) and (not open_only or open_actions[s.incident_id])
        ]
        return {"retros": shown, "total": len(summaries), "services": services, "open_actions": open_actions}

    def _stored(self, incident: str) -> tuple[str, list[VersionSummary]]:
        incident_id = self.store.resolve_incident(incident)
        versions = self.store.versions(incident_id)
        if not versions:
            raise _NotFound(f"no retro of incident {incident!r} is stored")
        return incident_id, versions

    def retro_view(
        self, incident: str, version: int | None, against: int | None, waiting: Waiting | None
    ) -> dict[str, Any]:
        incident_id, versions = self._stored(incident)
        numbers = [v.version for v in versions]
        for wanted in (version, against):
            if wanted is not None and wanted not in numbers:
                raise _NotFound(f"incident {incident_id} has no version {wanted} (it has {_listed(numbers)})")
        retro = self.store.retro(incident_id, version)
        if against is None:
            against = max((n for n in numbers if n < retro.version), default=None)
        diff = None
        if against is not None and against != retro.version:
            diff = retro_diff(self.store.retro(incident_id, against, events=False), retro)
        settings = self.config.settings_for(TABLE) or HtmlSettings()
        context = report_context(retro, settings, tickets_of(self.store.links(), incident_id))
        return {
            **context,
            "versions": versions,
            "latest": numbers[-1],
            "diff": diff,
            "records": self.store.input_records(incident_id),
            "rebuild": None if waiting is None else self._rebuild(incident_id, waiting, numbers[-1]),
            "base": _base(incident_id),
            "choices": CHOICES,
            "refresh_seconds": REFRESH_SECONDS,
        }

    def _rebuild(self, incident_id: str, waiting: Waiting, latest: int) -> Rebuild:
        if latest > waiting.after:
            return Rebuild("done", f"Recorded, and the retro was rebuilt: this is version {latest}.")
        key = rebuild_key(incident_id)
        job = next((j for j in self.service.jobs.jobs(limit=200) if j.lock_key == key), None)
        if job is not None and job.state in ("failed", "cancelled"):
            why = job.last_error or job.result or job.state
            return Rebuild("failed", f"Recorded, but the rebuild {job.state} (job {job.id}): {why}")
        if waiting.look >= MOST_LOOKS:
            state = f"job {job.id} is {job.state}" if job is not None else "its job is not listed"
            return Rebuild("slow", f"Recorded, but not rebuilt yet ({state}; see retroflow jobs). Reload later.")
        # A new query each time: a refresh to the same URL with a fragment would only scroll.
        refresh = f"{_base(incident_id)}?{waiting.query(look=waiting.look + 1)}" + (
            f"#{waiting.at}" if waiting.at else ""
        )
        return Rebuild("waiting", "Recorded. The retro is being rebuilt; this page reloads until it is.", refresh)

    def followups(self, owner: str | None, include_closed: bool) -> dict[str, Any]:
        items = self.store.follow_ups(include_closed=include_closed)
        owners = sorted({f.owner for f in items if f.owner})
        if owner is not None:
            items = [f for f in items if f.owner == owner]
        return {"groups": by_owner(items), "owners": owners, "count": len(items)}

    def outcomes(self) -> dict[str, Any]:
        from retroflow.outcomes.history import load_history
        from retroflow.outcomes.plots import report_charts
        from retroflow.outcomes.report import build_report, format_value
        from retroflow.outcomes.settings import outcome_settings

        registry = self.service.plugins.outcome_metrics
        metrics = {name: registry.get(name) for name in registry.names()}
        history = load_history(self.store, self.config)
        report = build_report(history, metrics, outcome_settings(self.config))
        exists = bool(report.rows or report.outcomes or report.unmeasured)
        by_service: dict[str, list[Any]] = {}
        for row in report.rows:
            by_service.setdefault(row.service, []).append(row)
        tables = [
            (service, [(row.period, [format_value(m, row.windows[m.name]) for m in report.metrics]) for row in rows])
            for service, rows in by_service.items()
        ]
        charts = {s: list(c.values()) for s, c in report_charts(history, report).items()} if exists else {}
        return {
            "report": report,
            "exists": exists,
            "tables": tables,
            "charts": charts,
            "ratio": ratio,
            "Markup": Markup,
        }

    # -- writing ------------------------------------------------------------------------

    def record(self, incident: str, kind: str, form: Mapping[str, str], author: str) -> tuple[str, int, str]:
        """Record one input for ``incident`` and queue its rebuild; return the incident id,
        the version stored before it, and the anchor of what it changed."""
        incident_id, versions = self._stored(incident)
        item, anchor = _input_item(kind, form, incident_id, author, self.store)
        self.store.add_input(incident_id, item)
        self._queue_rebuild(incident_id, versions[-1])
        log.info("human input recorded", incident=incident_id, kind=kind, author=author)
        return incident_id, versions[-1].version, anchor

    def _queue_rebuild(self, incident_id: str, newest: VersionSummary) -> None:
        service = self.service
        job = NewJob(
            kind=REBUILD,
            lock_key=rebuild_key(incident_id),
            payload={"incident_id": incident_id, "ref": newest.request_ref or incident_id},
            run_after=datetime.now(UTC),
            max_attempts=self.config.service.max_attempts,
        )
        with service.database.transaction() as conn:
            service.jobs.schedule(conn, job)
        if service.workers is not None:
            service.workers.wake()


def _base(incident_id: str) -> str:
    return "/retros/" + quote(incident_id, safe="")


def _listed(numbers: list[int]) -> str:
    return ", ".join(str(n) for n in numbers)


def _text(form: Mapping[str, str], name: str) -> str | None:
    """A form field, ``None`` when empty (not given)."""
    value = form.get(name, "").strip()
    return value or None


def _required(form: Mapping[str, str], name: str) -> str:
    value = _text(form, name)
    if value is None:
        raise InputRefused(f"{name} is required", name)
    return value


def _form_time(value: str) -> datetime:
    """A time from the form: ISO 8601 with an offset, or without one (a ``datetime-local``
    field) in UTC, as the pages show every time."""
    try:
        return parse_timestamp(value)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InputRefused(f"at: {value!r} is not a time (e.g. 2026-11-07T02:53:00Z)", "at") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def _due(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InputRefused(f"due: {value!r} is not a date (YYYY-MM-DD)", "due") from None


def _factor(form: Mapping[str, str], incident_id: str, author: str, store: Store) -> tuple[InputItem, str]:
    key, status = _required(form, "key"), _required(form, "status")
    problem = unknown_factor(store.factor_keys(incident_id), key, incident_id)
    if problem is not None:
        raise InputRefused(problem, "key")
    return FactorVerdict(key, status, reason=_text(form, "reason") or "", author=author), factor_anchor(key)  # type: ignore[arg-type]


def _event(form: Mapping[str, str], author: str) -> tuple[InputItem, str]:
    event = AddedEvent(
        at=_form_time(_required(form, "at")),
        kind=_required(form, "kind"),
        summary=_required(form, "summary"),
        why=_text(form, "why") or "",
        actor=_text(form, "actor"),
        id=_text(form, "id") or "",
        author=author,
    )
    return event, "timeline"


def _action(form: Mapping[str, str], incident_id: str, author: str) -> tuple[InputItem, str]:
    item = action_input(
        incident_id,
        _text(form, "action_id"),
        author=author,
        now=datetime.now(UTC),
        title=_text(form, "title"),
        change=_text(form, "change"),
        owner=_text(form, "owner"),
        effort=_text(form, "effort"),
        category=_text(form, "category"),
        due=_due(_text(form, "due")),
        verify={part: _text(form, f"verify_{part}") for part in ("metric", "service", "target")},
    )
    return item, "actions"


def _input_item(kind: str, form: Mapping[str, str], incident_id: str, author: str, store: Store) -> tuple[Any, str]:
    """The input a form gives, and the anchor of the section it changes.

    :raises ValueError: the form is not valid input (the message says why)."""
    if kind == "factors":
        return _factor(form, incident_id, author, store)
    if kind == "events":
        return _event(form, author)
    return _action(form, incident_id, author)


# -- requests ---------------------------------------------------------------------------------


def _pages(request: Request) -> Pages:
    pages: Pages = request.app.state.pages
    return pages


def _page(request: Request, template: str, *, status: int = 200, **context: Any) -> Response:
    """``template`` rendered for this request's viewer, with the CSRF token its forms carry."""
    pages = _pages(request)
    csrf, new = csrf_value(request)
    context.setdefault("viewer", viewer_of(request, pages.auth))
    context.setdefault("version", retroflow.__version__)
    body = (
        template_environment()
        .get_template(template)
        .render(csrf=csrf, csrf_field=CSRF_FIELD, auth=pages.auth, **context)
    )
    response = HTMLResponse(body, status_code=status, headers=SECURITY_HEADERS)
    if new:
        set_csrf_cookie(response, request, csrf)
    return response


def _message(request: Request, status: int, title: str, message: str, **context: Any) -> Response:
    return _page(request, "site_message.html.j2", status=status, title=title, message=message, **context)


def _number(request: Request, name: str) -> int | None:
    value = request.query_params.get(name)
    if value is None or value == "":
        return None
    if not value.isdigit() or int(value) < 1:
        raise _BadRequest(f"{name}: expected a version number (1, 2, …), not {value!r}")
    return int(value)


async def _read(
    request: Request, view: Callable[..., dict[str, Any]], template: str, *args: Any, **context: Any
) -> Response:
    try:
        found = await run_in_threadpool(view, *args)
    except _NotFound as exc:
        return _message(request, 404, "Not found", str(exc))
    return _page(request, template, **found, **context)


async def retros_page(request: Request) -> Response:
    service = request.query_params.get("service") or None
    open_only = request.query_params.get("open") == "1"
    return await _read(
        request, _pages(request).listing, "site_retros.html.j2", service, open_only,
        here="retros", chosen=service, open_only=open_only,
    )  # fmt: skip


_ANCHOR = re.compile(r"^[A-Za-z0-9_-]{1,200}$")


async def retro_page(request: Request) -> Response:
    try:
        version, against, after, look = (_number(request, name) for name in ("version", "against", "after", "look"))
    except _BadRequest as exc:
        return _message(request, 400, "Bad request", str(exc))
    at = request.query_params.get("at", "")
    waiting = None if after is None else Waiting(after, at if _ANCHOR.match(at) else "", look or 0)
    incident = request.path_params["incident"]
    return await _read(
        request, _pages(request).retro_view, "site_retro.html.j2", incident, version, against, waiting, here="retros"
    )


async def followups_page(request: Request) -> Response:
    owner = request.query_params.get("owner") or None
    closed = request.query_params.get("all") == "1"
    return await _read(
        request, _pages(request).followups, "site_followups.html.j2", owner, closed,
        here="followups", chosen=owner, include_closed=closed, age=age_text, action_anchor=action_anchor,
    )  # fmt: skip


async def outcomes_page(request: Request) -> Response:
    return await _read(request, _pages(request).outcomes, "site_outcomes.html.j2", here="outcomes")


class _FormRefused(Exception):
    """A POST whose form cannot be used: ``status`` is the answer's; ``csrf``, whether it
    failed the CSRF check (the form itself was read)."""

    def __init__(self, status: int, message: str, *, csrf: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.csrf = csrf


async def _form(request: Request) -> dict[str, str]:
    """The urlencoded form of a POST (the pages send nothing else), at most
    :data:`MAX_FORM_BYTES`; a field given twice keeps its first value."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
        raise _FormRefused(415, "expected a form (application/x-www-form-urlencoded)")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise _FormRefused(413, f"the form is over {MAX_FORM_BYTES} bytes")
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=64, strict_parsing=False)
    except (UnicodeDecodeError, ValueError):
        raise _FormRefused(400, "the form could not be read") from None
    return {name: values[0] for name, values in fields.items()}


async def _checked_form(request: Request, outcome: str) -> dict[str, str]:
    """The form of a POST (:func:`_form`) that passed the CSRF check; one that failed it is
    refused with a message that starts with ``outcome`` ("Not signed in")."""
    form = await _form(request)
    problem = csrf_problem(request, form)
    if problem is not None:
        raise _FormRefused(403, f"{outcome}: {problem}.", csrf=True)
    return form


def _refused(request: Request, viewer: Viewer, why: str) -> Response:
    log.warning("write refused", path=request.url.path, reason=why, user=viewer.user)
    return _message(request, 403, "Not allowed", why, viewer=viewer)


def _recorder(kind: str) -> Callable[[Request], Any]:
    async def endpoint(request: Request) -> Response:
        return await record_input(request, kind)

    return endpoint


async def record_input(request: Request, kind: str) -> Response:
    """A form that records human input: ``kind`` factors, events or actions."""
    pages = _pages(request)
    viewer = viewer_of(request, pages.auth)
    if not viewer.can_write:
        why = "Recording input needs a writer: sign in." if pages.auth.configured else (
            "These pages are read-only: writing needs [service.auth] (a token or a trusted proxy header).")  # fmt: skip
        return _refused(request, viewer, why)
    try:
        form = await _checked_form(request, "Not recorded")
    except _FormRefused as exc:
        if exc.csrf:
            return _refused(request, viewer, str(exc))
        return _message(request, exc.status, "Not recorded", str(exc), viewer=viewer)
    incident = request.path_params["incident"]
    try:
        incident_id, before, anchor = await run_in_threadpool(pages.record, incident, kind, form, viewer.user or "")
    except _NotFound as exc:
        return _message(request, 404, "Not found", str(exc), viewer=viewer)
    except ValueError as exc:  # InputRefused, or a value not among its choices
        back = "/retros/" + quote(incident, safe="")
        return _message(request, 400, "Not recorded", str(exc), viewer=viewer, back=back)
    target = f"{_base(incident_id)}?{Waiting(before, anchor).query()}#{anchor}"
    return RedirectResponse(target, status_code=303)


def _next(value: str | None) -> str:
    """Where to go after signing in: a path of this site only."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


async def signin_page(request: Request) -> Response:
    if not _pages(request).auth.tokens:
        return _message(request, 404, "Not found", "Signing in with a token is not configured ([service.auth] tokens).")
    return _page(request, "site_signin.html.j2", next=_next(request.query_params.get("next")), problem=None, here="")


async def signin(request: Request) -> Response:
    auth = _pages(request).auth
    if not auth.tokens:
        return _message(request, 404, "Not found", "Signing in with a token is not configured ([service.auth] tokens).")
    try:
        form = await _checked_form(request, "Not signed in")
    except _FormRefused as exc:
        return _message(request, exc.status, "Not signed in", str(exc))
    token = matching_token(auth, form.get("token", ""))
    target = _next(form.get("next"))
    if token is None:
        log.warning("sign-in refused", peer=request.client.host if request.client else None)
        return _page(
            request, "site_signin.html.j2", status=403, next=target, problem="That token is not valid.", here=""
        )
    log.info("signed in", user=token.user)
    response = RedirectResponse(target, status_code=303)
    start_session(response, request, token)
    return response


async def signout(request: Request) -> Response:
    try:
        await _checked_form(request, "Not signed out")
    except _FormRefused as exc:
        return _message(request, exc.status, "Not signed out", str(exc))
    response = RedirectResponse("/", status_code=303)
    end_session(response, request)
    return response


#: The forms' paths under ``/retros/{incident}/``.
INPUT_KINDS = ("factors", "events", "actions")

#: What the forms offer (the CLI's choices).
CHOICES = {
    "kinds": sorted(KIND_ALIASES),
    "efforts": [e.value for e in Effort],
    "categories": [c.value for c in Category],
}


def page_routes() -> list[BaseRoute]:
    return [
        Route("/", retros_page, methods=["GET"]),
        Route("/retros/{incident}", retro_page, methods=["GET"]),
        *(Route(f"/retros/{{incident}}/{kind}", _recorder(kind), methods=["POST"]) for kind in INPUT_KINDS),
        Route("/followups", followups_page, methods=["GET"]),
        Route("/outcomes", outcomes_page, methods=["GET"]),
        Route("/signin", signin_page, methods=["GET"]),
        Route("/signin", signin, methods=["POST"]),
        Route("/signout", signout, methods=["POST"]),
    ]
