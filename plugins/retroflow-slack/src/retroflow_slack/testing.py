"""A fake Slack Web API on localhost, for tests and benchmarks.

slack-sdk's ``WebClient`` speaks HTTP through ``urllib``, so the fake is a real HTTP
server (``http.server``, a daemon thread) that answers ``conversations.history``,
``conversations.replies`` and ``users.info`` the way Slack does: form-encoded requests
(the client POSTs every method), a bearer token, pages of ``limit`` messages with
``response_metadata.next_cursor``, thread replies only through ``conversations.replies``,
and 429 with ``Retry-After`` when told to.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

__all__ = ["FakeSlack", "serve"]


def _in_history(message: Mapping[str, Any]) -> bool:
    """What ``conversations.history`` returns: top-level messages and broadcast replies."""
    thread_ts = message.get("thread_ts")
    return thread_ts in (None, message.get("ts")) or message.get("subtype") == "thread_broadcast"


class FakeSlack:
    """A workspace: ``messages`` per channel id (replies included, as in an export) and
    ``users`` by id. ``rate_limits`` holds the ``Retry-After`` values of the next 429s;
    ``errors`` maps a method to the error code it answers with; ``requests`` records
    ``(method, params)``."""

    def __init__(
        self,
        messages: Mapping[str, Sequence[Mapping[str, Any]]],
        users: Mapping[str, Mapping[str, Any]] | None = None,
        *,
        token: str,
    ) -> None:
        self.messages = {channel: sorted(items, key=lambda m: float(m["ts"])) for channel, items in messages.items()}
        self.users = dict(users or {})
        self.token = token
        self.rate_limits: list[str] = []
        self.errors: dict[str, str] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self._lock = threading.Lock()

    def answer(self, method: str, params: dict[str, str], authorization: str | None) -> tuple[int, dict[str, str], Any]:
        with self._lock:
            self.requests.append((method, params))
            if self.rate_limits:
                return 429, {"Retry-After": self.rate_limits.pop(0)}, {"ok": False, "error": "ratelimited"}
        if authorization != f"Bearer {self.token}":
            return 200, {}, {"ok": False, "error": "invalid_auth"}
        if method in self.errors:
            return 200, {}, {"ok": False, "error": self.errors[method]}
        if method == "users.info":
            user = self.users.get(params.get("user", ""))
            return 200, {}, {"ok": True, "user": user} if user else {"ok": False, "error": "user_not_found"}
        if method in ("conversations.history", "conversations.replies"):
            channel = self.messages.get(params.get("channel", ""))
            if channel is None:
                return 200, {}, {"ok": False, "error": "channel_not_found"}
            return 200, {}, self._page(method, channel, params)
        return 404, {}, {"ok": False, "error": "unknown_method"}

    def _page(self, method: str, channel: Sequence[Mapping[str, Any]], params: dict[str, str]) -> dict[str, Any]:
        oldest = float(params.get("oldest", "0"))
        latest = float(params.get("latest", "inf"))
        if method == "conversations.history":
            selected = [m for m in reversed(channel) if _in_history(m) and oldest <= float(m["ts"]) <= latest]
        else:
            ts = params["ts"]
            selected = [m for m in channel if m["ts"] == ts or (m.get("thread_ts") == ts and m["ts"] != ts)]
            if not selected:
                return {"ok": False, "error": "thread_not_found"}
        limit = int(params.get("limit", "100"))
        start = int(params.get("cursor") or 0)
        page = selected[start : start + limit]
        more = start + limit < len(selected)
        reply: dict[str, Any] = {"ok": True, "messages": page, "has_more": more}
        if method == "conversations.history":
            reply.update(pin_count=0, channel_actions_ts=None, channel_actions_count=0)
        reply["response_metadata"] = {"next_cursor": str(start + limit) if more else ""}
        return reply


class _Handler(BaseHTTPRequestHandler):
    fake: FakeSlack

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        self._answer(body)

    def do_GET(self) -> None:
        self._answer(self.path.partition("?")[2])

    def _answer(self, query: str) -> None:
        method = self.path.partition("?")[0].rsplit("/", 1)[-1]
        params = {key: values[-1] for key, values in parse_qs(query).items()}
        status, headers, payload = self.fake.answer(method, params, self.headers.get("Authorization"))
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass


@contextmanager
def serve(fake: FakeSlack) -> Iterator[str]:
    """Serve ``fake`` on a free local port; yields the base URL for ``WebClient``."""
    handler = type("Handler", (_Handler,), {"fake": fake})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/api/"
    finally:
        server.shutdown()
        server.server_close()
