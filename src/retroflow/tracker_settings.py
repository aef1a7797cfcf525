"""The request settings every tracker sink's table has: :class:`TrackerSettings`, exported by
:mod:`retroflow.trackers` (import it from there), which imports it when first used."""

from __future__ import annotations

import attrs

__all__ = ["TrackerSettings"]


@attrs.frozen(kw_only=True)
class TrackerSettings:
    """The request settings every tracker sink's table has (a
    :class:`~retroflow.http.RequestSettings`); a sink's settings class extends it with the
    keys of its own tracker (``@attrs.frozen class AcmeSettings(TrackerSettings): ...``).
    They are keyword-only, so the subclass's required keys may follow them.

    :ivar timeout: seconds to wait for the tracker to answer one request.
    :ivar max_retry_wait: most seconds spent waiting on rate limits in one call; a longer
        wait (``Retry-After``, a reset time) fails the call with ``retry_after`` set instead.
    :ivar max_retries: most retries of one request after a rate limit.
    """

    timeout: float = 30.0
    max_retry_wait: float = 60.0
    max_retries: int = 3
