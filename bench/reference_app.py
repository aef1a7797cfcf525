"""The reference the intake is measured against: the least a durable webhook receiver can
do. Starlette on uvicorn (as ``retroflow serve``), the HMAC check of the one ``v1=``
signature, then one SQLite insert in WAL mode with ``synchronous=FULL``, committed before
the answer; nothing else (no parsing, no deduplication, no lifecycle, no job).

    python bench/reference_app.py DATABASE SECRET     # prints "listening on PORT"
"""

from __future__ import annotations

import hashlib
import hmac
import socket
import sqlite3
import sys
import threading

import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

DATABASE, SECRET = sys.argv[1], sys.argv[2].encode()
_local = threading.local()


def _connection() -> sqlite3.Connection:
    connection = getattr(_local, "connection", None)
    if connection is None:
        connection = sqlite3.connect(DATABASE, isolation_level=None, timeout=10)
        connection.execute("PRAGMA synchronous=FULL")
        _local.connection = connection
    return connection


def _insert(body: bytes) -> None:
    connection = _connection()
    connection.execute("BEGIN IMMEDIATE")
    connection.execute("INSERT INTO deliveries (body) VALUES (?)", (body.decode(),))
    connection.execute("COMMIT")


async def webhook(request: Request) -> Response:
    body = await request.body()
    expected = "v1=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, request.headers.get("x-pagerduty-signature", "")):
        return JSONResponse({"status": 403}, status_code=403)
    await run_in_threadpool(_insert, body)
    return JSONResponse({"status": 202}, status_code=202)


def main() -> None:
    setup = sqlite3.connect(DATABASE)
    setup.execute("PRAGMA journal_mode=WAL")
    setup.execute("CREATE TABLE IF NOT EXISTS deliveries (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
    setup.close()
    app = Starlette(routes=[Route("/webhooks/pagerduty", webhook, methods=["POST"])])
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # TCP_NODELAY, as serve
    sock.bind(("127.0.0.1", 0))
    sock.listen(2048)
    print(f"listening on {sock.getsockname()[1]}", flush=True)
    uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False, server_header=False)).run(sockets=[sock])


if __name__ == "__main__":
    main()
