"""Who is asking, for the served pages, and the CSRF check of their forms.

Reading needs nothing. Writing (recording human input) needs ``[service.auth]``:

* **a token**: a writer signs in at ``/signin`` with their token (``[[service.auth.tokens]]``,
  each a user and an ``env:`` secret); the page answers with a session cookie that names
  the user and is signed with their token (HMAC-SHA256), so changing a token ends its
  sessions. The cookie is ``HttpOnly`` and ``SameSite=Strict``, and ``Secure`` over HTTPS.
* **a trusted proxy header**: a proxy in front that signs people in (oauth2-proxy, a
  corporate SSO) names the user in ``proxy_header``; the header is believed only from the
  addresses of ``trusted_proxies``, and ignored (with a warning) from anyone else.

Anyone else is anonymous: every write is answered 403 and changes nothing.

Every form carries a CSRF token (the double-submit pattern): a random value in a cookie of
its own and in a hidden field, which must match; a request whose ``Origin`` is another
site's, or that the browser says is cross-site (``Sec-Fetch-Site``), is refused too.
Tokens are never logged; a refused sign-in is logged by address only.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import secrets
import time
from collections.abc import Mapping
from urllib.parse import urlsplit

import attrs
import structlog
from starlette.requests import Request
from starlette.responses import Response

from retroflow.config import AuthToken, ServiceAuth

__all__ = [
    "CSRF_COOKIE",
    "CSRF_FIELD",
    "SESSION_COOKIE",
    "SESSION_SECONDS",
    "Viewer",
    "csrf_problem",
    "csrf_value",
    "end_session",
    "matching_token",
    "set_csrf_cookie",
    "start_session",
    "viewer_of",
]

log = structlog.get_logger(__name__)

SESSION_COOKIE = "retroflow_session"
CSRF_COOKIE = "retroflow_csrf"
CSRF_FIELD = "csrf"
#: How long a sign-in lasts, in seconds (a working day).
SESSION_SECONDS = 8 * 3600
#: The longest user name a proxy header may give.
LONGEST_NAME = 200


@attrs.frozen
class Viewer:
    """Who is asking: ``user`` ``None`` for an anonymous reader; ``via`` ``token`` or
    ``proxy`` for a writer."""

    user: str | None = None
    via: str | None = None

    @property
    def can_write(self) -> bool:
        return self.user is not None


def viewer_of(request: Request, auth: ServiceAuth, *, now: float | None = None) -> Viewer:
    """The writer a trusted proxy names, else the one a valid session cookie names, else
    an anonymous reader."""
    if auth.proxy_header:
        named = _proxy_user(request, auth)
        if named is not None:
            return Viewer(named, "proxy")
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie and auth.tokens:
        user = _session_user(cookie, auth, time.time() if now is None else now)
        if user is not None:
            return Viewer(user, "token")
    return Viewer()


def _proxy_user(request: Request, auth: ServiceAuth) -> str | None:
    assert auth.proxy_header is not None
    value = request.headers.get(auth.proxy_header, "").strip()
    if not value:
        return None
    peer = request.client.host if request.client else ""
    if not _trusted(peer, auth.trusted_proxies):
        log.warning("proxy header from an untrusted address ignored", header=auth.proxy_header, peer=peer)
        return None
    if len(value) > LONGEST_NAME or any(ord(c) < 32 or ord(c) == 127 for c in value):
        log.warning("proxy header holds no usable name: ignored", header=auth.proxy_header, peer=peer)
        return None
    return value


def _trusted(peer: str, networks: list[str]) -> bool:
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(network, strict=False) for network in networks)


# -- sessions (token sign-in) ---------------------------------------------------------------


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _unb64(text: str) -> str:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()


def _signature(token: AuthToken, payload: str) -> str:
    key = token.token.reveal().encode()
    return hmac.new(key, b"retroflow-session:" + payload.encode(), hashlib.sha256).hexdigest()


def session_value(token: AuthToken, now: float) -> str:
    """The session cookie of ``token``'s user: ``user.expires.signature``."""
    payload = f"{_b64(token.user)}.{int(now) + SESSION_SECONDS}"
    return f"{payload}.{_signature(token, payload)}"


def _session_user(cookie: str, auth: ServiceAuth, now: float) -> str | None:
    try:
        name, expires, signature = cookie.split(".")
        user, until = _unb64(name), int(expires)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    token = next((t for t in auth.tokens if t.user == user), None)
    if token is None or until < now:
        return None
    if not hmac.compare_digest(signature, _signature(token, f"{name}.{expires}")):
        return None
    return user


def matching_token(auth: ServiceAuth, given: str) -> AuthToken | None:
    """The configured token ``given`` is, compared in constant time with every one."""
    found = None
    for token in auth.tokens:
        if hmac.compare_digest(token.token.reveal().encode(), given.encode()):
            found = token
    return found


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def start_session(response: Response, request: Request, token: AuthToken, *, now: float | None = None) -> None:
    value = session_value(token, time.time() if now is None else now)
    response.set_cookie(
        SESSION_COOKIE, value, max_age=SESSION_SECONDS, httponly=True, samesite="strict", secure=_secure(request)
    )


def end_session(response: Response, request: Request) -> None:
    response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="strict", secure=_secure(request))


# -- CSRF -------------------------------------------------------------------------------------


def csrf_value(request: Request) -> tuple[str, bool]:
    """The CSRF token of this browser (its cookie's) and whether it is new (to be set)."""
    current = request.cookies.get(CSRF_COOKIE, "")
    if len(current) == 43 and current.replace("-", "").replace("_", "").isalnum():
        return current, False
    return secrets.token_urlsafe(32), True


def set_csrf_cookie(response: Response, request: Request, value: str) -> None:
    response.set_cookie(CSRF_COOKIE, value, httponly=True, samesite="strict", secure=_secure(request))


def csrf_problem(request: Request, form: Mapping[str, str]) -> str | None:
    """Why a form post fails the CSRF check (``None``: it passes)."""
    if request.headers.get("sec-fetch-site") == "cross-site":
        return "the form was sent from another site"
    origin = request.headers.get("origin")
    if origin is not None and urlsplit(origin).netloc != request.headers.get("host", ""):
        return "the form was sent from another origin"
    cookie, given = request.cookies.get(CSRF_COOKIE, ""), form.get(CSRF_FIELD, "")
    if not cookie or not given or not hmac.compare_digest(cookie.encode(), given.encode()):
        return "the form's CSRF token is missing or does not match (reload the page and try again)"
    return None
