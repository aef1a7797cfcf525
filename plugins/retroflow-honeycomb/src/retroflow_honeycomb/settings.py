"""``[plugins.honeycomb]``: the settings of the Honeycomb timeline source."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import attrs

from retroflow import Secret, not_negative, region_url
from retroflow.sources import HttpSourceSettings, parsed_by, service_entries

from . import TABLE

__all__ = ["API_URLS", "ENVIRONMENT", "TABLE", "DatasetMap", "HoneycombSettings"]


#: The API of each Honeycomb region.
API_URLS = {"us": "https://api.honeycomb.io", "eu": "https://api.eu1.honeycomb.io"}
#: The dataset slug of environment-wide markers.
ENVIRONMENT = "__all__"


def _api_url(value: str) -> str:
    return region_url(API_URLS, value)


def _slug(dataset: str) -> str | None:
    """A dataset's slug; ``None`` for what is not one (a path)."""
    return None if "/" in dataset else dataset


@attrs.frozen
class DatasetMap:
    """Which datasets belong to which service: ``"service=dataset-slug"`` entries."""

    entries: tuple[tuple[str, str], ...] = ()  # (service, dataset)

    @classmethod
    def parse(cls, entries: Sequence[str]) -> DatasetMap:
        """:raises ValueError: an entry that is not ``service=dataset`` (naming it)."""
        return cls(tuple(service_entries(entries, "datasets", '"service=dataset-slug"', _slug)))

    def datasets_of(self, services: Iterable[str]) -> list[tuple[str, str]]:
        """``(dataset, service)`` to read for ``services``: their mapped datasets, or a
        dataset of the service's own name when it is not mapped; every mapped dataset when
        no service is given."""
        wanted = list(services)
        if not wanted:
            return [(dataset, service) for service, dataset in self.entries]
        found: list[tuple[str, str]] = []
        for service in wanted:
            mapped = [(dataset, service) for owner, dataset in self.entries if owner == service]
            found.extend(mapped or [(service, service)])
        return list(dict.fromkeys(found))


@attrs.frozen
class HoneycombSettings(HttpSourceSettings):
    """``[plugins.honeycomb]``. The source runs when ``api_key`` or ``replies`` is set.

    ``timeout``, ``request_timeout``, ``max_retries`` and ``max_retry_wait`` come from
    :class:`~retroflow.sources.HttpSourceSettings`.

    :ivar api_key: a configuration key (header ``X-Honeycomb-Team``) that may read markers
        and triggers, as an environment reference (``"env:HONEYCOMB_API_KEY"``).
    :ivar api: the region, ``"us"`` or ``"eu"``, or the API's https:// base URL.
    :ivar datasets: ``"service=dataset-slug"`` entries; a service not listed is read from the
        dataset of its own name.
    :ivar environment_markers: also read the environment-wide markers (dataset ``__all__``).
    :ivar triggers: read the datasets' triggers, to say which fire at collection time.
    :ivar before_minutes: how long before the incident was created markers count.
    :ivar after_minutes: how long after it was resolved markers count.
    :ivar replies: a directory of saved API replies to read instead of the API.
    """

    api_key: Secret | None = None
    api: str = attrs.field(default="us", converter=_api_url)
    datasets: list[str] = attrs.field(factory=list, validator=parsed_by(DatasetMap.parse))
    environment_markers: bool = False
    triggers: bool = True
    before_minutes: int = attrs.field(default=120, validator=not_negative)
    after_minutes: int = attrs.field(default=30, validator=not_negative)
    replies: Path | None = None

    @property
    def configured(self) -> bool:
        return self.api_key is not None or self.replies is not None

    def dataset_map(self) -> DatasetMap:
        return DatasetMap.parse(self.datasets)
