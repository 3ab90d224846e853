"""Child processes: each started in a session of its own and stopped by its PID.

A session of its own makes the child the leader of a process group that holds
its own children too (anything that cargo lambda watch or moto_server starts),
so one signal to that group stops them all.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path


def spawn(cmd: list[str], log: Path, **popen_kwargs) -> subprocess.Popen:
    """Starts `cmd` with stdout and stderr appended to `log`, and no stdin."""
    with open(log, "ab") as out:
        return subprocess.Popen(
            cmd,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            **popen_kwargs,
        )


def stop(proc: subprocess.Popen) -> None:
    """SIGTERM to the group that `proc` leads; SIGKILL if the leader is still there 5 s later."""
    running = proc.poll() is None
    # The group even when its leader is gone, so that nothing it started lingers.
    _signal_group(proc, signal.SIGTERM)
    if running:
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            _signal_group(proc, signal.SIGKILL)
            proc.wait(timeout=5)


def _signal_group(proc: subprocess.Popen, sig: signal.Signals) -> None:
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass  # the group is gone already


class Processes:
    """Children started by this run; `stop_all` ends each one by its PID.

    SIGINT, SIGTERM and SIGHUP become SystemExit, so that the caller's `finally`
    runs `stop_all` on those too.
    """

    def __init__(self) -> None:
        self.children: list[tuple[str, subprocess.Popen]] = []
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, self._on_signal)

    def _on_signal(self, signum, _frame):
        raise SystemExit(128 + signum)

    def start(self, name: str, cmd: list[str], log: Path, **popen_kwargs) -> subprocess.Popen:
        proc = spawn(cmd, log, **popen_kwargs)
        self.children.append((name, proc))
        return proc

    def stop_all(self) -> list[str]:
        stopped = []
        while self.children:
            name, proc = self.children.pop()
            stop(proc)
            stopped.append(f"{name} (pid {proc.pid})")
        return stopped


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def venv_tool(name: str) -> str:
    """A tool from the venv that runs this Python (the Makefile's pinned tools)."""
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else name
