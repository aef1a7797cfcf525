"""Commands of the automation: ``serve``, ``worker``, ``jobs``, ``watch``.

Registered by the default plugin :mod:`retroflow.default_plugins.service_commands` through
``retroflow_register_commands``. The service's modules (Starlette, uvicorn, SQLAlchemy)
are imported inside the commands: ``retroflow --help`` does not pay for them. See
``docs/automation.md``.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

import click

from retroflow.app import App, pass_app
from retroflow.errors import ConfigError, RetroflowError

__all__ = ["COMMANDS", "jobs_group", "serve_command", "watch_command", "worker_command"]

JOB_STATES = ("queued", "running", "done", "failed", "cancelled")


def _service_modules() -> None:
    """Fail with the install hint when the ``service`` extra is missing."""
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise ConfigError(
            f"retroflow serve needs {exc.name!r}, which is not installed: pip install 'retroflow[service]'"
        ) from None


def _threads(app: App, workers: int | None) -> int:
    threads = app.config.service.workers if workers is None else workers
    if threads < 0:
        raise click.BadParameter("must be 0 or more", param_hint="--workers")
    return threads


@click.command("serve")
@click.option("--host", help="Address to listen on (default: [service] host, 127.0.0.1).")
@click.option("--port", type=int, help="Port (default: [service] port, 8787; 0: any free port).")
@click.option("--workers", type=int, help="Job threads in this process (default: [service] workers; 0: none).")
@pass_app
def serve_command(app: App, host: str | None, port: int | None, workers: int | None) -> None:
    """Take signed webhooks durably and draft retros when incidents resolve.

    One process: POST /webhooks/<receiver> (e.g. /webhooks/pagerduty), GET /healthz,
    GET /readyz, and job threads. Put it behind a TLS proxy; see docs/automation.md.
    SIGTERM stops it gracefully.
    """
    _service_modules()
    from retroflow.service.server import bind, build_service, run_server

    settings = app.config.service
    plugins = app.plugins
    threads = _threads(app, workers)
    try:
        sock = bind(host or settings.host, settings.port if port is None else port)
    except OSError as exc:
        raise RetroflowError(
            f"cannot listen on {host or settings.host}:{port or settings.port}: {exc.strerror}"
        ) from None
    service = build_service(app.config, plugins, intake=True, threads=threads)
    run_server(service, sock, progress=app.progress)


@click.command("worker")
@click.option("--workers", type=int, help="Job threads (default: [service] workers).")
@pass_app
def worker_command(app: App, workers: int | None) -> None:
    """Run job threads only (no intake), e.g. beside a `serve --workers 0` on PostgreSQL.

    SIGTERM lets running jobs finish ([service] shutdown_grace), then gives their leases back.
    """
    from retroflow.service.server import build_service, run_workers

    threads = _threads(app, workers) or 1
    service = build_service(app.config, app.plugins, intake=False, threads=threads)
    run_workers(service, progress=app.progress)


@click.command("watch")
@click.option("--once", is_flag=True, help="Poll once and exit (for cron); no job threads.")
@click.option("--workers", type=int, help="Job threads in this process (default: [service] workers; 0: none).")
@pass_app
def watch_command(app: App, once: bool, workers: int | None) -> None:
    """Poll for resolved incidents (no webhooks needed) and draft their retros.

    Every [service] poll_interval, each configured incident feed (e.g. PagerDuty) lists
    the incidents resolved since the stored checkpoint; each resolve schedules the same
    draft job a webhook would. Webhooks and polling together still draft once per resolve.
    """
    from retroflow.service.poller import PollResult, poll_once, watch
    from retroflow.service.server import build_service

    plugins = app.plugins
    configured = [n for n in plugins.incident_feeds.names() if plugins.incident_feeds.get(n).configured(app.config)]
    if not configured:
        known = ", ".join(plugins.incident_feeds.names()) or "none installed"
        raise ConfigError(f"{app.config.label}: no incident feed is configured (feeds: {known})")
    service = build_service(app.config, plugins, intake=False, threads=0 if once else _threads(app, workers))

    def said(results: list[PollResult]) -> None:
        for result in results:
            window = f"{_ts(result.since)} → {_ts(result.until)}"
            if result.error:
                app.progress("watch", f"{result.feed} {window}: failed: {result.error}")
            else:
                counts = ", ".join(f"{n} {o}" for o, n in sorted(result.outcomes.items())) or "nothing resolved"
                app.progress("watch", f"{result.feed} {window}: {counts}")

    if once:
        try:
            said(poll_once(app.config, plugins, service.database, service.jobs))
        finally:
            service.database.close()
        return
    stop = threading.Event()

    def polled(results: list[PollResult]) -> None:
        said(results)
        if service.workers is not None:
            service.workers.wake()

    poller = threading.Thread(
        target=watch,
        args=(app.config, plugins, service.database, service.jobs, stop),
        kwargs={"on_poll": polled},
        name="retroflow-watch",
        daemon=True,
    )
    from retroflow.service.server import run_workers

    poller.start()
    try:
        run_workers(service, progress=app.progress)
    finally:
        stop.set()


def _ts(value: datetime | None) -> str | None:
    from retroflow.model import format_timestamp  # the model is imported when a command runs

    return None if value is None else format_timestamp(value)


def _job_data(job: Any) -> dict[str, Any]:
    """A job as ``retroflow jobs --json`` gives it: its fields, the lock key as ``key``, times
    as documents write them."""
    from retroflow.serialize import attributes, timestamps  # the model is imported when a command runs

    return {
        **attributes(job, "id", "kind"),
        "key": job.lock_key,
        **attributes(job, "state", "attempts", "max_attempts"),
        **timestamps(job, "run_after", "lease_until"),
        **attributes(job, "worker", "last_error", "result"),
        "payload": dict(job.payload),
        **timestamps(job, "created_at", "updated_at", "finished_at"),
    }


def _job_line(job: Any) -> str:
    incident = job.lock_key.split(":", 1)[-1]
    when = {
        "queued": f"runs after {job.run_after:%Y-%m-%d %H:%M:%S}Z",
        "running": f"on {job.worker}, lease until {job.lease_until:%H:%M:%S}Z" if job.lease_until else "running",
    }.get(job.state, f"{job.updated_at:%Y-%m-%d %H:%M:%S}Z")
    line = f"{job.id}\t{job.state}\t{job.kind} {incident}\tattempt {job.attempts}/{job.max_attempts}\t{when}"
    note = job.last_error if job.state in ("failed", "queued") and job.last_error else job.result
    return line + (f"\n\t{note}" if note else "")


def _jobs_backend(app: App) -> Any:
    from retroflow.service.server import open_jobs

    return open_jobs(app.config)[1]


@click.group("jobs", invoke_without_command=True)
@click.option("--state", type=click.Choice(JOB_STATES), help="Only jobs in this state.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def jobs_group(ctx: click.Context, state: str | None, as_json: bool) -> None:
    """List the automation's jobs, newest first (subcommand: retry)."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(_jobs_list, state=state, as_json=as_json)


@pass_app
def _jobs_list(app: App, state: str | None, as_json: bool) -> None:
    backend = _jobs_backend(app)
    try:
        jobs = backend.jobs(state)
    finally:
        backend.database.close()
    if as_json:
        import json  # here: `retroflow --help` imports this module

        click.echo(json.dumps([_job_data(job) for job in jobs], indent=2))
        return
    if not jobs:
        click.echo("no jobs" + (f" {state}" if state else ""))
    for job in jobs:
        click.echo(_job_line(job))


@jobs_group.command("retry")
@click.argument("job_id", type=int)
@pass_app
def jobs_retry(app: App, job_id: int) -> None:
    """Queue failed or cancelled job JOB_ID again, now, with its attempts reset."""
    backend = _jobs_backend(app)
    try:
        job = backend.requeue(job_id)
    finally:
        backend.database.close()
    click.echo(_job_line(job))


COMMANDS: tuple[click.Command, ...] = (serve_command, worker_command, jobs_group, watch_command)
