"""The ASGI app of ``retroflow serve`` (Starlette): webhook intake, health endpoints, and
the pages people read retros and record input with (:mod:`~retroflow.service.pages`).

Every delivery to ``POST /webhooks/<receiver>`` goes through the same steps, in this
order (``../shared/reference/RELIABILITY.md``), and is answered only once its fate is
sure:

1. read the raw body, at most ``[service] max_body_bytes`` (more: **413**);
2. verify its signature (the receiver's :meth:`~retroflow.roles.WebhookReceiver.verify`):
   missing or malformed **400**, not matching **403**; nothing stored;
3. parse it: not what the sender documents **400**, nothing stored;
4. store it in the inbox and apply it to the incident's lifecycle, in one durable
   transaction (:class:`~retroflow.service.inbox.Inbox`); a database that cannot take it
   **503** (the sender tries again: never a 2xx for something not stored);
5. answer **202** (stored; a draft may have been scheduled or cancelled), or **200** for a
   delivery already stored (a retry or a replay: nothing more is done).

Raw bodies and secrets are never logged: a delivery is logged by receiver, event type,
event id and ``X-Webhook-Id``.

:func:`create_app` is composable: the core's routes, then each plugin's
(``retroflow_register_routes``), then the caller's; everything the endpoints need is in
``app.state.service``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any

import attrs
import structlog
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from retroflow.config import Config
from retroflow.engine import describe_error
from retroflow.errors import PluginError, WebhookRejected
from retroflow.plugins import Plugins
from retroflow.roles import WebhookReceiver
from retroflow.service.database import ServiceDatabase
from retroflow.service.inbox import Inbox, Received
from retroflow.service.jobs import JobQueue
from retroflow.service.pages import Pages, page_routes
from retroflow.service.worker import JobRunner

__all__ = ["INTAKE_TIMEOUT", "Service", "create_app", "plugin_routes"]

log = structlog.get_logger(__name__)

#: Seconds a delivery may wait for its commit before it is answered 503 (PagerDuty waits
#: 5 s for an answer, then counts a timeout and retries).
INTAKE_TIMEOUT = 4.0


@attrs.define
class Service:
    """Everything the app and its endpoints use.

    :ivar inbox: the intake's writer (``None``: no intake, e.g. pages only).
    :ivar workers: the job threads of this process (``None``: run by ``retroflow worker``
        elsewhere).
    :ivar accepting: false once the server is stopping: deliveries get 503.
    """

    config: Config
    plugins: Plugins
    database: ServiceDatabase
    jobs: JobQueue
    inbox: Inbox | None = None
    workers: JobRunner | None = None
    accepting: bool = True
    receivers: dict[str, WebhookReceiver] = attrs.field(factory=dict)

    def __attrs_post_init__(self) -> None:
        for name in self.plugins.webhooks.names():
            receiver: WebhookReceiver = self.plugins.webhooks.get(name)
            if receiver.configured(self.config):
                self.receivers[name] = receiver
            else:
                log.warning("webhook receiver not configured: it answers 404", receiver=name)

    def start(self) -> None:
        if self.inbox is not None:
            self.inbox.start()
        if self.workers is not None:
            self.workers.start()

    def stop(self) -> None:
        """Stop taking deliveries, write those taken, stop the workers gracefully."""
        self.accepting = False
        if self.inbox is not None:
            self.inbox.stop()
        if self.workers is not None:
            self.workers.stop()


def _answer(status: int, message: str, **extra: Any) -> Response:
    return JSONResponse({"status": status, "message": message, **extra}, status_code=status)


class _TooLarge(Exception):
    pass


async def _body(request: Request, limit: int) -> bytes:
    """The raw body, refused past ``limit`` bytes (before reading it when the length is
    announced)."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise _TooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


async def webhook(request: Request) -> Response:
    service: Service = request.app.state.service
    name = request.path_params["receiver"]
    receiver = service.receivers.get(name)
    if receiver is None:
        return _answer(404, f"no webhook receiver {name!r} is configured")
    if not service.accepting or service.inbox is None:
        return _answer(503, "not taking deliveries (stopping)")
    context = {"receiver": name, "webhook_id": request.headers.get("x-webhook-id")}
    try:
        body = await _body(request, service.config.service.max_body_bytes)
    except _TooLarge:
        log.warning("webhook too large", **context)
        return _answer(413, f"body over {service.config.service.max_body_bytes} bytes")
    try:
        receiver.verify(body, request.headers, service.config)
        delivery = receiver.parse(body, request.headers, service.config)
    except WebhookRejected as exc:
        log.warning("webhook rejected", status=exc.status, reason=str(exc), **context)
        return _answer(exc.status, str(exc))
    except Exception as exc:  # a receiver's bug: the sender retries a 500
        log.error("webhook receiver failed", error=describe_error(exc), **context)
        return _answer(500, f"receiver {name!r} failed")
    received = Received(name, delivery, context["webhook_id"], body)
    try:
        async with asyncio.timeout(INTAKE_TIMEOUT):
            result = await service.inbox.put(received)
    except Exception as exc:
        log.error("webhook not stored", error=type(exc).__name__, event_id=delivery.event_id, **context)
        return _answer(503, "not stored: try again")
    log.info("webhook stored", event_type=delivery.event_type, event_id=delivery.event_id, outcome=result.outcome)
    return _answer(200 if result.duplicate else 202, result.outcome, event_id=delivery.event_id)


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    service: Service = request.app.state.service
    problem = await run_in_threadpool(service.database.unready)
    if problem is None and not service.accepting:
        problem = "stopping"
    if problem is not None:
        return JSONResponse({"status": "unready", "reason": problem}, status_code=503)
    return JSONResponse({"status": "ready", "receivers": sorted(service.receivers)})


def core_routes() -> list[BaseRoute]:
    return [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/webhooks/{receiver}", webhook, methods=["POST"]),
    ]


def plugin_routes(plugins: Plugins) -> list[BaseRoute]:
    """The routes plugins add (``retroflow_register_routes``), each plugin called on its own.

    :raises PluginError: a plugin raised, or registered something that is not a route.
    """
    routes: list[BaseRoute] = []

    def add(plugin_name: str, route: Any) -> None:
        if not isinstance(route, BaseRoute):
            raise PluginError(f"plugin {plugin_name!r} registered {route!r}, which is not a Starlette route")
        routes.append(route)

    plugins.call_register("retroflow_register_routes", add)
    return routes


def create_app(service: Service, routes: Iterable[BaseRoute] = (), *, lifecycle: bool = True) -> Starlette:
    """The app: the core's routes and pages, the plugins', then ``routes``.

    :param lifecycle: start the service (inbox, workers) with the app and stop it with it.
    """

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[Mapping[str, Any]]:
        if lifecycle:
            service.start()
        try:
            yield {}
        finally:
            if lifecycle:
                await run_in_threadpool(service.stop)
            app.state.pages.close()

    pages = [*page_routes()]
    app = Starlette(routes=[*core_routes(), *pages, *plugin_routes(service.plugins), *routes], lifespan=lifespan)
    app.state.service = service
    app.state.pages = Pages(service)
    return app
