"""``[plugins.slack]``: the settings of the Slack timeline source."""

from __future__ import annotations

from pathlib import Path

import attrs

from retroflow import Secret, not_negative, positive

from . import TABLE

__all__ = ["TABLE", "SlackSettings"]


def _reaction_name(value: str) -> str:
    """``":pushpin:"`` and ``"pushpin"`` name the same reaction."""
    return value.strip().strip(":")


def _workspace_url(value: str | None) -> str | None:
    if value is None:
        return None
    url = value.strip().rstrip("/")
    if not url.startswith("https://"):
        raise ValueError(f'workspace_url: expected an https:// URL like "https://acme.slack.com", got {value!r}')
    return url


@attrs.frozen
class SlackSettings:
    """``[plugins.slack]``. Every key has a default; the source runs when ``token`` or
    ``export`` is set.

    :ivar token: a bot token (``xoxb-…``), as an environment reference
        (``"env:SLACK_BOT_TOKEN"``).
    :ivar export: a workspace export folder (``channels.json``, ``users.json``, a folder of
        day files per channel) to read instead of the API; wins over ``token``.
    :ivar channel: the incident channel: an id (``C024BE91L``) or, in an export, a name
        (``inc-1042``). Unset: the channel the incident links to
        (``https://<workspace>.slack.com/archives/<id>``).
    :ivar margin_minutes: minutes read before the incident was created and after it
        resolved.
    :ivar key_reaction: the reaction that marks a key moment (pinned messages do too).
    :ivar alert_bots: names (or bot ids) of the integrations whose posts are alerts; unset:
        any bot post that reads like an alert. Other bot posts are dropped.
    :ivar services: service names to look for in messages (the incident's services are
        looked for too).
    :ivar workspace_url: the workspace's address for links to messages; unset: taken from
        the incident's Slack link.
    :ivar timeout: seconds the whole source may take (default: ``[retroflow]
        source_timeout``).
    :ivar request_timeout: seconds one HTTP request may take.
    :ivar rate_limit_retries: how many times a request answered with 429 is tried again.
    :ivar max_wait: the longest wait, in seconds, for one ``Retry-After``; a longer one
        ends the collection with an error instead of waiting.
    :ivar max_messages: the most messages read live (history and replies together); past
        it the rest is a recorded gap.
    """

    token: Secret | None = None
    export: Path | None = None
    channel: str | None = None
    margin_minutes: float = attrs.field(default=30.0, validator=not_negative)
    key_reaction: str = attrs.field(default="pushpin", converter=_reaction_name)
    alert_bots: list[str] | None = None
    services: list[str] = attrs.field(factory=list)
    workspace_url: str | None = attrs.field(default=None, converter=_workspace_url)
    timeout: float | None = attrs.field(default=None, validator=positive)
    request_timeout: float = attrs.field(default=10.0, validator=positive)
    rate_limit_retries: int = attrs.field(default=5, validator=not_negative)
    max_wait: float = attrs.field(default=30.0, validator=positive)
    max_messages: int = attrs.field(default=10_000, validator=positive)

    @property
    def configured(self) -> bool:
        return self.token is not None or self.export is not None
