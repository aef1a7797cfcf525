"""Logging: structlog, configured once by the CLI, with secrets redacted.

Modules only call ``structlog.get_logger()``. :func:`configure_logging` sets the processor
chain: a console renderer on a terminal, JSON lines otherwise, tracebacks without frame
locals, and :func:`redact` before every renderer so no secret reaches a log line, a
traceback or an error message.
"""

from __future__ import annotations

import base64
import re
import sys
import threading
from collections.abc import MutableMapping
from typing import Any, TextIO
from urllib.parse import quote, quote_plus

import structlog

__all__ = ["configure_logging", "redact", "redact_text", "register_basic_auth", "register_secret"]

MASK = "[redacted]"

_SENSITIVE_KEY = re.compile(
    r"(authorization|token|api[_-]?key|secret|password|passwd|cookie|signature|credential)",
    re.IGNORECASE,
)
_SENSITIVE_VALUE = re.compile(
    r"(Token token=\S+|Bearer\s+\S+|Basic\s+[A-Za-z0-9+/=]{8,}|xox[abeoprs]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+"
    r"|whsec_[A-Za-z0-9+/=]+|lin_api_[A-Za-z0-9]+|gh[pousr]_[A-Za-z0-9]{20,})"
)
# Credentials inside URLs: the password of the user-info part (``https://user:password@host``;
# one already shown as ``***`` is left so) and query parameters named like secrets
# (``?access_token=…``); the rest of the URL stays readable.
_URL_CREDENTIALS = re.compile(
    r"(?P<user>\b[A-Za-z][A-Za-z0-9+.-]*://[^\s/?#@:]+:)(?!\*+@)[^\s/?#@]+@"
    r"|(?P<param>[?&](?:[A-Za-z_]*token|api[_-]?key|key|password|passwd|secret|sig|signature|auth)=)[^&#\s]+",
    re.IGNORECASE,
)


def _mask_url_credentials(match: re.Match[str]) -> str:
    user = match.group("user")
    return f"{user}{MASK}@" if user else f"{match.group('param')}{MASK}"


# Secret values read from config (see retroflow.config.Secret); masked wherever they appear.
_known_secrets: set[str] = set()
_lock = threading.Lock()


def register_secret(value: str) -> None:
    """Mask ``value`` in every log line, traceback and error message from now on, and its
    URL-encoded forms (a server may echo a query string or form body)."""
    if len(value) >= 4:
        with _lock:
            _known_secrets.update({value, quote(value, safe=""), quote_plus(value, safe="")})


def register_basic_auth(user: str, secret: str) -> None:
    """Mask the base64 of ``user:secret`` from now on: what an HTTP Basic ``Authorization``
    header carries, which a server may echo in an error without the word ``Basic``. The
    padding is left out of the mask, so the form without it is caught too."""
    pair = f"{user}:{secret}".encode()
    for encoded in (base64.b64encode(pair), base64.urlsafe_b64encode(pair)):
        register_secret(encoded.decode().rstrip("="))


def redact_text(text: str) -> str:
    """Mask known secret values and strings that look like credentials in ``text``."""
    for secret in sorted(_known_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    if "=" in text or "@" in text:
        text = _URL_CREDENTIALS.sub(_mask_url_credentials, text)
    return _SENSITIVE_VALUE.sub(MASK, text)


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {
            k: (MASK if isinstance(k, str) and _SENSITIVE_KEY.search(k) and v else _redact_value(v))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_redact_value(v) for v in value]
    if isinstance(value, BaseException):
        return redact_text(repr(value))
    return value


def redact(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: mask sensitive keys and secret-looking values, recursively
    (rendered tracebacks included)."""
    for key in list(event_dict):
        value = event_dict[key]
        if _SENSITIVE_KEY.search(key) and value:
            event_dict[key] = MASK
        else:
            event_dict[key] = _redact_value(value)
    return event_dict


def configure_logging(*, level: str = "warning", json: bool | None = None, stream: TextIO | None = None) -> None:
    """Configure structlog for the process. Call once, from the CLI.

    :param level: the least severe level shown.
    :param json: JSON lines when true, console when false; default: console on a terminal.
    :param stream: where log lines go (default: standard error).
    """
    out = stream if stream is not None else sys.stderr
    if json is None:
        json = not out.isatty()
    tracebacks: Any
    renderer: Any
    if json:
        tracebacks = structlog.processors.ExceptionRenderer(
            structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
        )
        renderer = structlog.processors.JSONRenderer(sort_keys=True)
    else:
        tracebacks = structlog.processors.format_exc_info
        renderer = structlog.dev.ConsoleRenderer(colors=False, sort_keys=True)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            tracebacks,
            redact,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(out),
        cache_logger_on_first_use=False,
    )
