"""``[plugins.github-deploys]``: the settings of the ``github-deploys`` source, imported when
settings are read (not when the plugin loads: :mod:`retroflow_github.deploys` exports them)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs

from retroflow import Secret, not_negative, positive
from retroflow.http import looks_like_url

__all__ = ["DEFAULT_STATES", "DeployRepo", "GitHubDeploySettings"]

#: Deployment states read by default: a deploy starting, landing or failing.
DEFAULT_STATES = ("in_progress", "success", "failure", "error")
_KNOWN_STATES = frozenset({*DEFAULT_STATES, "queued", "pending", "inactive"})


def _owner_name(instance: Any, attribute: attrs.Attribute[Any], value: str) -> None:
    owner, sep, name = value.partition("/")
    if not sep or not owner or not name or "/" in name:
        raise ValueError(f'{attribute.name}: expected "owner/name", got {value!r}')


def _not_blank(instance: Any, attribute: attrs.Attribute[Any], value: str) -> None:
    if not value.strip():
        raise ValueError(f"{attribute.name}: must not be empty")


def _api_url(instance: Any, attribute: attrs.Attribute[Any], value: str) -> None:
    if not looks_like_url(value):
        raise ValueError(f"{attribute.name}: expected a URL like https://api.github.com, got {value!r}")


def _states(instance: Any, attribute: attrs.Attribute[Any], value: list[str]) -> None:
    unknown = sorted(set(value) - _KNOWN_STATES)
    if unknown:
        raise ValueError(f"{attribute.name}: unknown deployment state {unknown[0]!r} (known: {sorted(_KNOWN_STATES)})")


@attrs.frozen
class DeployRepo:
    """One repository (an item of ``repos``).

    :ivar repo: ``"owner/name"``.
    :ivar service: the service it deploys; every event of it carries this service.
    :ivar environments: deployments to these environments are read (``[]``: all).
    :ivar workflows: deploy workflows whose runs are read, by file name (``"deploy.yml"``)
        or id; none by default.
    :ivar branch: the branch their runs are read on (default: the repository's default
        branch, one more request).
    :ivar releases: whether published releases are read.
    """

    repo: str = attrs.field(validator=_owner_name)
    service: str = attrs.field(validator=_not_blank)
    environments: list[str] = attrs.field(factory=lambda: ["production"])
    workflows: list[str] = attrs.field(factory=list)
    branch: str | None = None
    releases: bool = True


@attrs.frozen
class GitHubDeploySettings:
    """``[plugins.github-deploys]``. The source runs when ``repos`` is not empty.

    :ivar repos: the repositories to read, each mapped to a service.
    :ivar token: an environment reference to a token with read access to deployments,
        contents (releases) and Actions of the repositories; without it only public
        repositories can be read (60 requests an hour).
    :ivar api_url: the REST API root; ``https://HOST/api/v3`` for GitHub Enterprise Server.
    :ivar replies: a directory of saved API replies to read instead of the API.
    :ivar window_hours: how many hours before the incident began to read from.
    :ivar states: the deployment states that become events.
    :ivar max_pages: the most pages of 100 read per list (deployments have no time filter:
        pages are read newest first until one is older than the window).
    :ivar timeout: seconds the whole source may take (default: ``[retroflow] source_timeout``).
    :ivar request_timeout: seconds to wait for GitHub to answer one request.
    :ivar max_retry_wait: most seconds spent waiting on rate limits for one request.
    :ivar max_retries: most retries of one request after a rate limit.
    """

    repos: list[DeployRepo] = attrs.field(factory=list)
    token: Secret | None = None
    api_url: str = attrs.field(default="https://api.github.com", validator=_api_url)
    replies: Path | None = None
    window_hours: float = attrs.field(default=24.0, validator=positive)
    states: list[str] = attrs.field(factory=lambda: list(DEFAULT_STATES), validator=_states)
    max_pages: int = attrs.field(default=5, validator=positive)
    timeout: float | None = attrs.field(default=None, validator=positive)
    request_timeout: float = attrs.field(default=10.0, validator=positive)
    max_retry_wait: float = attrs.field(default=20.0, validator=positive)
    max_retries: int = attrs.field(default=3, validator=not_negative)

    @property
    def configured(self) -> bool:
        return bool(self.repos)
