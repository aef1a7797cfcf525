"""Logging: structlog, configured once by the CLI, with secrets redacted.

retroflow's modules log through :func:`get_logger`; plugins may call
``structlog.get_logger()`` as well. :func:`configure_logging` sets the processor chain: a
console renderer on a terminal, JSON lines otherwise, tracebacks without frame locals, and
:func:`redact` before every renderer so no secret reaches a log line, a traceback or an
error message.

structlog is imported when the first line is logged, not before: it imports asyncio, and
the two cost a command that logs nothing (most, at the default level) a third of its
start-up. Until then :func:`configure_logging` only records the configuration; it is
applied the moment anything imports structlog (a plugin's own ``import structlog`` too).
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import re
import sys
import threading
from collections.abc import Callable, Iterator, MutableMapping
from typing import Any, TextIO

__all__ = [
    "bound_context",
    "configure_logging",
    "get_logger",
    "redact",
    "redact_text",
    "register_basic_auth",
    "register_secret",
]

MASK = "[redacted]"

_SENSITIVE_KEY = r"(authorization|token|api[_-]?key|secret|password|passwd|cookie|signature|credential)"
_SENSITIVE_VALUE = (
    r"(Token token=\S+|Bearer\s+\S+|Basic\s+[A-Za-z0-9+/=]{8,}|xox[abeoprs]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+"
    r"|whsec_[A-Za-z0-9+/=]+|lin_api_[A-Za-z0-9]+|gh[pousr]_[A-Za-z0-9]{20,})"
)
# Credentials inside URLs: the password of the user-info part (``https://user:password@host``;
# one already shown as ``***`` is left so) and query parameters named like secrets
# (``?access_token=…``); the rest of the URL stays readable.
_URL_CREDENTIALS = (
    r"(?P<user>\b[A-Za-z][A-Za-z0-9+.-]*://[^\s/?#@:]+:)(?!\*+@)[^\s/?#@]+@"
    r"|(?P<param>[?&](?:[A-Za-z_]*token|api[_-]?key|key|password|passwd|secret|sig|signature|auth)=)[^&#\s]+"
)


@functools.cache
def _patterns() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    """The sensitive key, value and URL patterns, compiled when first used: compiling
    them cost every command's start-up, and most never redact anything."""
    return (
        re.compile(_SENSITIVE_KEY, re.IGNORECASE),
        re.compile(_SENSITIVE_VALUE),
        re.compile(_URL_CREDENTIALS, re.IGNORECASE),
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
        from urllib.parse import quote, quote_plus  # here: --help registers no secret

        with _lock:
            _known_secrets.update({value, quote(value, safe=""), quote_plus(value, safe="")})


def register_basic_auth(user: str, secret: str) -> None:
    """Mask the base64 of ``user:secret`` from now on: what an HTTP Basic ``Authorization``
    header carries, which a server may echo in an error without the word ``Basic``. The
    padding is left out of the mask, so the form without it is caught too."""
    import base64  # here: every command imports this module, few read basic-auth settings

    pair = f"{user}:{secret}".encode()
    for encoded in (base64.b64encode(pair), base64.urlsafe_b64encode(pair)):
        register_secret(encoded.decode().rstrip("="))


def redact_text(text: str) -> str:
    """Mask known secret values and strings that look like credentials in ``text``."""
    for secret in sorted(_known_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    if "=" in text or "@" in text:
        text = _patterns()[2].sub(_mask_url_credentials, text)
    return _patterns()[1].sub(MASK, text)


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {
            k: (MASK if isinstance(k, str) and _patterns()[0].search(k) and v else _redact_value(v))
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
        if _patterns()[0].search(key) and value:
            event_dict[key] = MASK
        else:
            event_dict[key] = _redact_value(value)
    return event_dict


#: The levels structlog's filtering loggers know, by method name.
_LEVELS = {"debug": 10, "info": 20, "warning": 30, "warn": 30, "error": 40, "exception": 40, "critical": 50}


class _Settings:
    """What :func:`configure_logging` was asked for, kept until structlog is imported."""

    def __init__(self, level: str, json: bool, out: TextIO) -> None:
        self.level = level
        self.json = json
        self.out = out


_settings: _Settings | None = None


def configure_logging(*, level: str = "warning", json: bool | None = None, stream: TextIO | None = None) -> None:
    """Configure structlog for the process. Call once, from the CLI.

    Applied now if structlog is imported already, else when it is (see the module's
    docstring); the terminal check and the stream are taken now either way.

    :param level: the least severe level shown.
    :param json: JSON lines when true, console when false; default: console on a terminal.
    :param stream: where log lines go (default: standard error).
    """
    global _settings
    out = stream if stream is not None else sys.stderr
    if json is None:
        json = not out.isatty()
    _settings = _Settings(level, json, out)
    if "structlog" in sys.modules:
        _apply(_settings)
    else:
        _configure_on_import()


def _apply(settings: _Settings) -> None:
    import structlog

    json, level, out = settings.json, settings.level, settings.out
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
            _merge_bound_context,
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


class _ConfigureOnImport:
    """A ``sys.meta_path`` finder that applies the recorded configuration right after
    structlog's own module has run, whoever imports it; then it removes itself."""

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if name != "structlog":
            return None
        _remove_finder()
        from importlib.util import find_spec

        spec: Any = find_spec(name)
        if spec is not None and spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _ConfiguringLoader(spec.loader)
        return spec


class _ConfiguringLoader:
    def __init__(self, loader: Any) -> None:
        self._loader = loader

    def create_module(self, spec: Any) -> Any:
        return self._loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        self._loader.exec_module(module)
        if _settings is not None:
            _apply(_settings)

    def __getattr__(self, name: str) -> Any:  # anything else a loader answers (resources)
        return getattr(self._loader, name)


def _configure_on_import() -> None:
    if not any(isinstance(finder, _ConfigureOnImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, _ConfigureOnImport())


def _remove_finder() -> None:
    sys.meta_path[:] = [finder for finder in sys.meta_path if not isinstance(finder, _ConfigureOnImport)]


# What the engine binds for every line logged while it works (the incident), kept apart
# from structlog's own context variables so that binding it imports nothing.
_context: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("retroflow_log_context", default=None)


@contextlib.contextmanager
def bound_context(**values: Any) -> Iterator[None]:
    """Add ``values`` to every line logged in this context while the block runs."""
    token = _context.set({**(_context.get() or {}), **values})
    try:
        yield
    finally:
        _context.reset(token)


def _merge_bound_context(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key, value in (_context.get() or {}).items():
        event_dict.setdefault(key, value)
    return event_dict


def _noop(*_args: Any, **_kwargs: Any) -> None:
    return None


class Logger:
    """A structlog logger that imports structlog when a line is logged at a level shown.

    While structlog is not imported yet and :func:`configure_logging` hides a level, the
    methods of that level do nothing, as structlog's filtering logger would do.
    """

    def __init__(self, name: str) -> None:
        self._name = name
        self._logger: Any = None

    def __getattr__(self, method: str) -> Callable[..., Any]:
        if self._logger is None:
            if "structlog" not in sys.modules and _settings is not None:
                level = _LEVELS.get(method)
                if level is not None and level < _LEVELS.get(_settings.level, 0):
                    return _noop
            import structlog

            self._logger = structlog.get_logger(self._name)
        return getattr(self._logger, method)  # type: ignore[no-any-return]


def get_logger(name: str) -> Logger:
    """The logger of module ``name``: ``log = get_logger(__name__)``."""
    return Logger(name)
