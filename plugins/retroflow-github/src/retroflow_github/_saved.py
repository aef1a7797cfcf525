"""Saved API replies: a directory of GitHub's own JSON, answered in place of the API.

A reply is saved at its URL's path under the directory, with ``.json``; later pages of a
list as ``.2.json``, ``.3.json``…; the query is not part of the name::

    GET https://api.github.com/repos/acme/payments/deployments?environment=production&per_page=100
        → <replies>/repos/acme/payments/deployments.json  (page 2: deployments.2.json)
    GET …/repos/acme/payments/deployments/42/statuses → <replies>/repos/acme/payments/deployments/42/statuses.json
    GET …/repos/acme/payments                           → <replies>/repos/acme/payments.json

It is a ``requests`` transport adapter, so the source reads saved replies through the very
code that reads the API (pages, filters, limits). A reply not saved is a 404 that names
the file it looked for.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse, urlunparse

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

__all__ = ["SavedReplies", "saved_path"]


def saved_path(directory: Path, api_path: str, url: str) -> Path:
    """Where the reply to ``url`` is saved (``api_path``: the API root's own path, e.g.
    ``/api/v3`` on GitHub Enterprise Server)."""
    parsed = urlparse(url)
    path = parsed.path[len(api_path) :] if parsed.path.startswith(api_path) else parsed.path
    page = parse_qs(parsed.query).get("page", ["1"])[0]
    suffix = "" if page in ("", "1") else f".{page}"
    return directory / (path.strip("/") + suffix + ".json")


class SavedReplies(BaseAdapter):
    """Answers GET requests from files under ``directory`` (see the module docstring)."""

    def __init__(self, directory: Path, api_url: str) -> None:
        super().__init__()
        self._directory = directory
        self._api_path = urlparse(api_url).path.rstrip("/")

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        url = request.url or ""
        path = saved_path(self._directory, self._api_path, url)
        if request.method != "GET":
            return _reply(request, 405, {"message": f"saved replies answer GET only, not {request.method}"})
        if not path.is_file():
            return _reply(request, 404, {"message": f"no saved reply {path}"})
        try:
            body = path.read_bytes()
            json.loads(body)
        except (OSError, ValueError) as exc:
            return _reply(request, 502, {"message": f"saved reply {path} cannot be read: {exc}"})
        headers: dict[str, str] = {"Content-Type": "application/json"}
        following = _page_url(url, _page(url) + 1)
        if saved_path(self._directory, self._api_path, following).is_file():
            headers["Link"] = f'<{following}>; rel="next"'
        return _reply(request, 200, body, headers)

    def close(self) -> None:
        pass


def _page(url: str) -> int:
    value = parse_qs(urlparse(url).query).get("page", ["1"])[0]
    return int(value) if value.isdigit() else 1


def _page_url(url: str, page: int) -> str:
    parsed = urlparse(url)
    query = {key: values[-1] for key, values in parse_qs(parsed.query).items()}
    query["page"] = str(page)
    return urlunparse(parsed._replace(query=urlencode(query)))


def _reply(
    request: requests.PreparedRequest,
    status: int,
    body: bytes | Mapping[str, Any],
    headers: Mapping[str, str] | None = None,
) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.request = request
    response.url = request.url or ""
    response.headers = CaseInsensitiveDict(headers or {"Content-Type": "application/json"})
    response._content = body if isinstance(body, bytes) else json.dumps(body).encode()
    response.encoding = "utf-8"
    return response
