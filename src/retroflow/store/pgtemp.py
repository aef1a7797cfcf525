"""A throwaway PostgreSQL server for tests and benchmarks, from the local binaries.

PostgreSQL refuses to run as root; as root (CI, the dev machines) the cluster is created
and started as the ``postgres`` user through ``runuser``, in a temporary directory that
user owns (the user is created when missing). Nothing is assumed to be running.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["PG_USER", "PostgresUnavailable", "binaries_available", "temporary_postgres"]

PG_USER = "postgres"


class PostgresUnavailable(RuntimeError):
    """The server binaries are not installed (the only reason callers may skip)."""


def binaries_available() -> bool:
    return bool(shutil.which("initdb") and shutil.which("pg_ctl"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_postgres(argv: list[str]) -> list[str]:
    return ["runuser", "-u", PG_USER, "--", *argv] if os.geteuid() == 0 else argv


@contextmanager
def temporary_postgres(*, durable: bool = False) -> Iterator[str]:
    """Start a cluster on a free port, yield a SQLAlchemy URL of its ``postgres`` database,
    and stop and delete it afterwards.

    :param durable: keep fsync on (benchmarks); tests turn it off for speed.
    :raises PostgresUnavailable: ``initdb`` or ``pg_ctl`` is not on PATH.
    :raises RuntimeError: the server did not start (with its log).
    """
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if not initdb or not pg_ctl:
        raise PostgresUnavailable("PostgreSQL server binaries (initdb, pg_ctl) are not on PATH")
    base = Path(tempfile.mkdtemp(prefix="retroflow-pg-"))
    data = base / "data"
    try:
        if os.geteuid() == 0:
            if shutil.which("runuser") is None:
                raise RuntimeError("as root, runuser is needed to start PostgreSQL as the postgres user")
            try:
                pwd.getpwnam(PG_USER)
            except KeyError:
                subprocess.run(["useradd", "--system", "--no-create-home", PG_USER], check=True)
            os.chmod(base, 0o755)
            shutil.chown(base, user=PG_USER)
        port = _free_port()
        log = base / "server.log"
        init = [initdb, "-D", str(data), "-A", "trust", "-U", PG_USER, "-E", "UTF8", "--no-locale"]
        if not durable:
            init.append("-N")
        subprocess.run(_as_postgres(init), check=True, capture_output=True)
        options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1"
        if not durable:
            options += " -c fsync=off -c full_page_writes=off -c synchronous_commit=off"
        started = subprocess.run(
            _as_postgres([pg_ctl, "-D", str(data), "-o", options, "-l", str(log), "-w", "-t", "60", "start"]),
            capture_output=True,
            text=True,
        )
        if started.returncode != 0:
            text = log.read_text() if log.exists() else ""
            raise RuntimeError(f"PostgreSQL did not start: {started.stderr.strip()}\n{text}")
        try:
            yield f"postgresql+psycopg://{PG_USER}@127.0.0.1:{port}/postgres"
        finally:
            subprocess.run(
                _as_postgres([pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"]), capture_output=True
            )
    finally:
        shutil.rmtree(base, ignore_errors=True)
