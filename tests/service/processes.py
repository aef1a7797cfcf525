"""Real ``retroflow`` processes (``worker_process.py``) on one test config: started with their
output in a log file each, waited on, and stopped with the test."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from retroflow.config import load_config

SCRIPT = Path(__file__).with_name("worker_process.py")


class Processes:
    """A config written into ``directory`` and the processes started on it. ``name`` names
    each process's log (``<name>-<n>.log``) and its part of a timeout's message."""

    def __init__(self, directory: Path, config_text: str, *, name: str, timeout: float) -> None:
        self.dir = directory
        self.name = name
        self.timeout = timeout
        self.config_path = directory / "retroflow.toml"
        self.config_path.write_text(config_text)
        self.tickets = directory / "tickets.json"
        self.marker = directory / "blocked"
        self.config = load_config(self.config_path)
        self.processes: list[subprocess.Popen[bytes]] = []

    def spawn(self, args: list[str], env: Mapping[str, str]) -> subprocess.Popen[bytes]:
        """``worker_process.py --config <config> *args``, in a session of its own."""
        log = open(self.dir / f"{self.name}-{len(self.processes)}.log", "wb")  # noqa: SIM115 - kept by Popen
        process = subprocess.Popen(
            [sys.executable, str(SCRIPT), "--config", str(self.config_path), *args],
            env=dict(env),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes.append(process)
        return process

    def log(self, process: subprocess.Popen[bytes]) -> str:
        return (self.dir / f"{self.name}-{self.processes.index(process)}.log").read_text(errors="replace")

    def wait_for(self, condition: Callable[[], Any], what: str, timeout: float | None = None) -> Any:
        """``condition()`` once it is true; on timeout, an error with every process's log."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while time.monotonic() < deadline:
            if value := condition():
                return value
            time.sleep(0.1)
        logs = "\n".join(f"--- {self.name} {i}\n{self.log(p)}" for i, p in enumerate(self.processes))
        raise AssertionError(f"timed out waiting for {what}\n{logs}")

    def ticket_keys(self) -> list[str]:
        return [t["key"] for t in json.loads(self.tickets.read_text())] if self.tickets.exists() else []

    def kill_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
            process.wait(10)
