"""Errors retroflow raises on purpose. The CLI is the one place they become messages."""

from __future__ import annotations


class RetroflowError(Exception):
    """A failure with a message meant for the user (exit code 1)."""

    exit_code = 1


class ConfigError(RetroflowError):
    """The configuration (file, environment or command line) is wrong (exit code 2).

    It may name several problems (``ConfigError(first, second, ...)``, one line each, in
    :attr:`problems`), so that one run reports every mistake, not only the first.
    """

    exit_code = 2

    def __init__(self, problem: str, *more: str) -> None:
        super().__init__("\n".join((problem, *more)))
        self.problems: tuple[str, ...] = (problem, *more)


class PluginError(RetroflowError):
    """A plugin could not be loaded or registered something invalid (exit code 1)."""


class SourceError(RetroflowError):
    """A timeline source could not collect; the engine records it as a data gap."""


class TrackerError(RetroflowError):
    """A tracker request failed.

    :ivar ambiguous: the request may have reached the tracker (timeout, 5xx after
        sending): the export must be reconciled by searching for its key before any
        re-create.
    :ivar retry_after: seconds the tracker asked to wait, when it said.
    """

    def __init__(self, message: str, *, ambiguous: bool = False, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.ambiguous = ambiguous
        self.retry_after = retry_after


class WebhookRejected(RetroflowError):
    """A webhook delivery a receiver refuses: its signature (``status`` 400 when missing or
    malformed, 403 when it does not match) or its body (400: not JSON, fields missing).
    Nothing of it is stored; the HTTP answer is ``status``.

    :ivar status: the HTTP status to answer with.
    """

    def __init__(self, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.status = status
