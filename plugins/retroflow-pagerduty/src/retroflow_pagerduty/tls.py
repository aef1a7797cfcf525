"""Which certificate authorities the PagerDuty client trusts, and TLS failures in words.

A company proxy that inspects TLS, or a test double, presents a certificate signed by its
own CA. ``[plugins.pagerduty] ca_bundle`` names a PEM file of the CA certificates to trust
instead of the system's; without it the standard ``SSL_CERT_FILE`` (a PEM file) or
``SSL_CERT_DIR`` (a hashed directory) environment variables are honoured, as OpenSSL and
most HTTP clients do. The file is read when the client is made, so a file that is not a
certificate bundle is a configuration error naming where it came from.
"""

from __future__ import annotations

import os
import ssl
from pathlib import Path

from retroflow import ConfigError

__all__ = ["ssl_context", "tls_problem"]

_HINT = (
    "if a proxy or a test double with its own CA stands in between, "
    "set [plugins.pagerduty] ca_bundle (or SSL_CERT_FILE) to that CA's certificate"
)


def ssl_context(ca_bundle: Path | None) -> ssl.SSLContext | None:
    """The TLS context verifying the API's certificate: ``ca_bundle``, else the CAs
    ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` name, else ``None`` (the client's default, the
    system's trust store).

    :raises ConfigError: the file or directory cannot be read as PEM CA certificates.
    """
    if ca_bundle is not None:
        return _load(f"[plugins.pagerduty] ca_bundle: {ca_bundle}", cafile=str(ca_bundle))
    if cafile := os.environ.get("SSL_CERT_FILE"):
        return _load(f"SSL_CERT_FILE={cafile}", cafile=cafile)
    if capath := os.environ.get("SSL_CERT_DIR"):
        return _load(f"SSL_CERT_DIR={capath}", capath=capath)
    return None


def _load(origin: str, *, cafile: str | None = None, capath: str | None = None) -> ssl.SSLContext:
    try:
        return ssl.create_default_context(cafile=cafile, capath=capath)
    except OSError as exc:  # ssl.SSLError is an OSError too
        reason = getattr(exc, "reason", None) or exc.strerror or str(exc)
        raise ConfigError(f"{origin}: cannot be read as PEM CA certificates ({reason})") from None


def tls_problem(exc: BaseException, url: str) -> str | None:
    """What went wrong, when ``exc`` (a client error, with its causes) is a TLS failure
    talking to ``url``; ``None`` for any other error. TLS failures are not worth retrying:
    the same certificate comes back."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLCertVerificationError):
            why = current.verify_message or current.reason or "certificate verify failed"
            return f"the TLS certificate of {url} is not trusted ({why}); {_HINT}"
        if isinstance(current, ssl.SSLError):
            return f"the TLS handshake with {url} failed ({current.reason or current}); {_HINT}"
        current = current.__cause__ or current.__context__
    return None
