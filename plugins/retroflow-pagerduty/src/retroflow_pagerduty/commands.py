"""``retroflow pagerduty``: the webhook subscriptions that deliver to ``retroflow serve``.

* ``subscribe --url URL [--service ID]... [--team ID]...`` makes a V3 webhook subscription
  (one per service or team; the whole account when none is given), prints its signing
  secret once with the config that uses it, and has PagerDuty send a test delivery;
* ``subscriptions`` lists them with their state, ``--enable ID`` re-enables one PagerDuty
  disabled after dropped deliveries, ``--ping ID`` sends another test delivery.

They use ``[plugins.pagerduty]`` (``token``, ``api``, ``ca_bundle``…); ``--token env:NAME``
names another key, e.g. one allowed to write webhook subscriptions when the source's key is
read-only. Registered by the plugin through ``retroflow_register_commands``; imported only
when the command line asks for its commands.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Any

import click

from retroflow import ConfigError, RetroflowError, redact_text
from retroflow.app import App, pass_app

from . import TABLE

if TYPE_CHECKING:  # the client is imported when a command calls the API, not when the CLI starts
    import httpx2

    from .replies import Sleep
    from .settings import PagerDutySettings
    from .subscriptions import Created, Filter, Plan, Subscription
    from .subscriptions_api import SubscriptionsApi

# `retroflow --help` imports this module to list the commands: the subscriptions, the
# settings and structlog are imported when a command runs.

__all__ = ["pagerduty_group"]


def _log() -> Any:
    import structlog

    return structlog.get_logger(__name__)


SECRET_ENV = "PAGERDUTY_WEBHOOK_SECRET"
_ID = re.compile(r"^[A-Za-z0-9]{1,40}$")
DESCRIPTION = "retroflow: draft a retro when an incident resolves"
_TOKEN_HELP = "Another REST API key than [plugins.pagerduty] token, as an environment reference (env:NAME)."


def pagerduty_group(*, transport: httpx2.BaseTransport | None = None, sleep: Sleep = time.sleep) -> click.Group:
    """The ``pagerduty`` command group; ``transport`` and ``sleep`` as the plugin has them
    (tests pass a fake API)."""

    @click.group("pagerduty")
    def group() -> None:
        """PagerDuty webhook subscriptions, for automatic retros."""

    opened = _opener(transport, sleep)
    group.add_command(_subscribe_command(opened))
    group.add_command(_subscriptions_command(opened))
    return group


Opener = Callable[[App, "str | None"], AbstractContextManager["SubscriptionsApi"]]


def _opener(transport: httpx2.BaseTransport | None, sleep: Sleep) -> Opener:
    """``opened(app, token)``: the subscription API on the plugin's settings (``--token``
    instead of the configured key, if given), closed on exit."""

    @contextmanager
    def opened(app: App, token: str | None) -> Iterator[SubscriptionsApi]:
        from .subscriptions_api import SubscriptionsApi

        api = SubscriptionsApi(_settings(app, token), transport=transport, sleep=sleep)
        try:
            yield api
        finally:
            api.close()

    return opened


def _subscribe_command(opened: Opener) -> click.Command:
    @click.command("subscribe")
    @click.option("--url", required=True, callback=_https_url, help="The https:// URL PagerDuty delivers to.")
    @click.option("--service", "services", multiple=True, metavar="ID", callback=_ids, help="A service (repeatable).")
    @click.option("--team", "teams", multiple=True, metavar="ID", callback=_ids, help="A team (repeatable).")
    @click.option("--description", default=DESCRIPTION, show_default=True, help="Shown in PagerDuty.")
    @click.option("--replace", is_flag=True, help="Re-create an existing subscription: a NEW secret, the old one dies.")
    @click.option("--add", is_flag=True, help="Add a subscription to a URL that has one for another filter.")
    @click.option("--no-ping", is_flag=True, help="Send no test delivery.")
    @click.option("--token", metavar="env:NAME", help=_TOKEN_HELP)
    @click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
    @pass_app
    def subscribe(
        app: App,
        url: str,
        services: tuple[str, ...],
        teams: tuple[str, ...],
        description: str,
        replace: bool,
        add: bool,
        no_ping: bool,
        token: str | None,
        as_json: bool,
    ) -> None:
        """Subscribe URL to incident events; print each signing secret once.

        One subscription per --service and --team, else one for the whole account. A URL
        that already has a subscription is left alone unless --replace (same filter: a new
        subscription with a new secret replaces it) or --add (another filter) says so.
        """
        from .subscriptions import filters_of, plan_subscribe

        with opened(app, token) as api:
            plan = plan_subscribe(api.list_all(), url, filters_of(services, teams), replace=replace, add=add)
            report = _Report(as_json)
            try:
                _carry_out(api, plan, url, description, report, ping=not no_ping)
            finally:
                report.close()

    return subscribe


def _subscriptions_command(opened: Opener) -> click.Command:
    @click.command("subscriptions")
    @click.option("--enable", multiple=True, metavar="ID", callback=_ids, help="Re-enable a temporarily disabled one.")
    @click.option("--ping", multiple=True, metavar="ID", callback=_ids, help="Have PagerDuty send a test delivery.")
    @click.option("--url", help="Only those delivering to this URL.")
    @click.option("--token", metavar="env:NAME", help=_TOKEN_HELP)
    @click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
    @pass_app
    def subscriptions(
        app: App, enable: tuple[str, ...], ping: tuple[str, ...], url: str | None, token: str | None, as_json: bool
    ) -> None:
        """List the account's webhook subscriptions with their state; re-enable or ping one."""
        from .subscriptions import same_url

        with opened(app, token) as api:
            if enable or ping:
                _enable_and_ping(api, enable, ping, as_json)
                return
            found = [s for s in api.list_all() if url is None or same_url(s.url, url)]
        _list(found, as_json)

    return subscriptions


def _settings(app: App, token: str | None) -> PagerDutySettings:
    """``[plugins.pagerduty]``, every plugin table validated, with ``--token`` if given."""
    app.plugins  # noqa: B018  # validates every plugin table (ConfigError naming each problem)
    settings: PagerDutySettings | None = app.config.settings_for(TABLE)
    if settings is None:
        raise ConfigError(f"{app.config.label}: [plugins.pagerduty] is not configured")
    if token is not None:
        import attrs

        from retroflow import Secret

        settings = attrs.evolve(settings, token=Secret.from_reference(token, where="--token"))
    if settings.token is None:
        raise ConfigError(
            f"{app.config.label}: [plugins.pagerduty] token is not set: the pagerduty commands need a REST API key "
            '(token = "env:PAGERDUTY_TOKEN", or --token env:NAME)'
        )
    return settings


def _ids(_ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> tuple[str, ...]:
    """PagerDuty ids (``PSVC123``): letters and digits, since they go into request paths."""
    for value in values:
        if not _ID.match(value):
            raise click.BadParameter(f"expected a PagerDuty id (letters and digits, like PXYZ123), got {value!r}")
    return values


def _https_url(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname:
        raise click.BadParameter(f"expected an https:// URL PagerDuty can reach, got {redact_text(value)!r}")
    return value


def _secret_env(filter: Filter, several: bool) -> str:
    """The environment variable suggested for a subscription's secret: one name when the
    URL has one subscription, one per filter when it has several."""
    if not several:
        return SECRET_ENV
    return f"{SECRET_ENV}_{re.sub(r'[^A-Z0-9]', '_', (filter.id or filter.kind).upper())}"


def _carry_out(api: SubscriptionsApi, plan: Plan, url: str, description: str, report: _Report, *, ping: bool) -> None:
    """Make each subscription (then delete the one it replaces), then ping them. A
    failure to delete or ping is reported after the rest is done; the secrets are shown."""
    from .subscriptions import EVENTS

    log = _log()
    several = len(plan.create) + len(plan.alongside) > 1
    problems: list[str] = []
    report.alongside = plan.alongside
    for filter in plan.create:
        created = api.create(url, filter, EVENTS, description, _secret_env(filter, several))
        log.info("pagerduty webhook subscription created", subscription=created.subscription.id, filter=str(filter))
        report.made(created)
        for old in (s for s in plan.replace if s.filter == filter):
            try:
                api.delete(old.id)
            except RetroflowError as exc:
                problems.append(f"the replaced subscription {old.id} was not deleted: {exc}")
                continue
            log.info("pagerduty webhook subscription deleted", subscription=old.id, replaced_by=created.subscription.id)
            report.replaced(old)
    for created in report.created if ping else []:
        try:
            api.ping(created.subscription.id)
        except RetroflowError as exc:
            problems.append(f"no test delivery for {created.subscription.id}: {exc}")
            continue
        report.pinged(created.subscription)
    if problems:
        raise RetroflowError("the subscriptions were made, but " + "; ".join(problems))


class _Report:
    """What ``subscribe`` did: said as it happens, or with ``--json`` as one document at
    the end. Either way it is printed even when a later step fails, so a secret PagerDuty
    shows only once is never lost."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json
        self.created: list[Created] = []
        self.deleted: list[Subscription] = []
        self.pings: list[str] = []
        self.alongside: Sequence[Subscription] = ()

    def made(self, created: Created) -> None:
        self.created.append(created)
        if self.as_json:
            return
        made = created.subscription
        click.echo(
            f"Created webhook subscription {made.id} for {made.filter} -> {redact_text(made.url)} "
            f"({len(made.events)} incident events).\n"
            "Its signing secret, shown this once (PagerDuty never shows it again):\n\n"
            f"    {created.secret.env}={created.secret.reveal()}\n"
        )

    def replaced(self, old: Subscription) -> None:
        self.deleted.append(old)
        if not self.as_json:
            click.echo(
                f"Deleted subscription {old.id} ({old.filter}), which it replaces: its secret signs nothing any "
                "more; take it out of webhook_secrets.\n"
            )

    def pinged(self, subscription: Subscription) -> None:
        self.pings.append(subscription.id)
        if not self.as_json:
            click.echo(f"Sent a test delivery (pagey.ping) for {subscription.id} to {redact_text(subscription.url)}.")

    def close(self) -> None:
        references = [f"env:{c.secret.env}" for c in self.created]
        if self.as_json:
            import json  # here: `retroflow --help` imports this module

            click.echo(json.dumps(self._document(references), indent=2))
        elif references:
            if self.pings:
                click.echo()
            click.echo(_config_advice(references, self.alongside))
            if self.pings:
                click.echo(_ping_advice(self.pings))

    def _document(self, references: list[str]) -> dict[str, Any]:
        return {
            "created": [
                {**c.subscription.to_json(), "secret": c.secret.reveal(), "secret_env": c.secret.env}
                for c in self.created
            ],
            "deleted": [s.id for s in self.deleted],
            "pinged": self.pings,
            "alongside": [s.to_json() for s in self.alongside],
            "webhook_secrets": references,
        }


def _config_advice(references: list[str], alongside: Sequence[Subscription]) -> str:
    listed = ", ".join(f'"{r}"' for r in references)
    keep = (
        "\nKeep the secrets of the subscriptions to this URL that stay ("
        + ", ".join(f"{s.id}: {s.filter}" for s in alongside)
        + ") in the list too.\n"
        if alongside
        else ""
    )
    return (
        "Give retroflow serve each secret through its environment (a secret store, never a file in the "
        "repository) and name them in the config. It is a list: during a rotation keep the old secret there "
        "until its subscription is gone.\n\n"
        f"    [plugins.{TABLE}]\n"
        f"    webhook_secrets = [{listed}]\n"
        f"{keep}"
    )


def _ping_advice(pinged: Sequence[str]) -> str:
    again = " ".join(f"--ping {i}" for i in pinged)
    return (
        "retroflow serve accepts a test delivery once webhook_secrets holds the secret, and refuses it until "
        "then; PagerDuty disables a subscription for 24 h after 3 refused deliveries in a row (re-enable: "
        f"retroflow pagerduty subscriptions --enable ID). Once configured, test again:\n\n"
        f"    retroflow pagerduty subscriptions {again}\n"
    )


def _enable_and_ping(api: SubscriptionsApi, enable: Sequence[str], ping: Sequence[str], as_json: bool) -> None:
    log = _log()
    enabled = []
    for subscription_id in enable:
        subscription = api.enable(subscription_id)
        log.info("pagerduty webhook subscription enabled", subscription=subscription_id)
        enabled.append(subscription)
        if not as_json:
            click.echo(
                f"Enabled {subscription.id} ({subscription.filter} -> {redact_text(subscription.url)}): "
                f"{subscription.state}"
            )
    for subscription_id in ping:
        api.ping(subscription_id)
        if not as_json:
            click.echo(f"Sent a test delivery (pagey.ping) for subscription {subscription_id}")
    if as_json:
        import json  # here: `retroflow --help` imports this module

        click.echo(json.dumps({"enabled": [s.to_json() for s in enabled], "pinged": list(ping)}, indent=2))


def _list(found: Sequence[Subscription], as_json: bool) -> None:
    if as_json:
        import json  # here: `retroflow --help` imports this module

        click.echo(json.dumps([s.to_json() for s in found], indent=2))
        return
    if not found:
        click.echo("no webhook subscriptions (make one: retroflow pagerduty subscribe --url https://...)")
    for s in found:
        click.echo(f"{s.id}\t{s.state}\t{s.filter}\t{redact_text(s.url) or '(no URL)'}")
        click.echo(f"  events: {', '.join(s.events) or '(none)'}")
        if s.description:
            click.echo(f"  description: {s.description}")
        if s.temporarily_disabled:
            click.echo(f"  re-enable: retroflow pagerduty subscriptions --enable {s.id}")
