"""`cargo lambda watch`, the Lambda Runtime API emulator that runs the demo's functions."""

from __future__ import annotations

import json
import os
import socket
import time
import urllib.error
import urllib.request
from pathlib import Path

from frontdoor_dev import ROOT
from frontdoor_dev.processes import Processes, free_port


def write_env_file(path: Path, env: dict[str, str]) -> None:
    """cargo lambda's --env-file is dotenv-like: single-quote values (JSON has commas)."""
    lines = []
    for key, value in env.items():
        if "'" in value or "\n" in value:
            raise ValueError(f"{key}: value cannot hold a quote or a newline")
        lines.append(f"{key}='{value}'")
    path.write_text("\n".join(lines) + "\n")


class Watch:
    """`cargo lambda watch` on 127.0.0.1, serving every function of the workspace."""

    def __init__(self, procs: Processes, logdir: Path, env: dict[str, str], cargo_lambda: str) -> None:
        self.port = free_port()
        self.log = logdir / "cargo-lambda-watch.log"
        env_file = logdir / "functions.env"
        write_env_file(env_file, env)
        self.proc = procs.start(
            "cargo lambda watch",
            [
                cargo_lambda,
                "lambda",
                "watch",
                "--ignore-changes",
                "--quiet",
                "--invoke-address",
                "127.0.0.1",
                "--invoke-port",
                str(self.port),
                "--env-file",
                str(env_file),
            ],
            self.log,
            cwd=ROOT,
            env={**os.environ, "NO_COLOR": "1", "CARGO_TERM_COLOR": "never"},
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("cargo lambda watch exited:\n" + self.log.read_text(errors="replace"))
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("cargo lambda watch did not listen within 60 s")

    def log_offset(self) -> int:
        return self.log.stat().st_size

    def log_since(self, offset: int) -> str:
        with open(self.log, "rb") as f:
            f.seek(offset)
            return f.read().decode(errors="replace")

    def invoke(self, function: str, payload: dict, timeout: float = 600) -> tuple[dict | None, str | None]:
        """The Lambda Invoke API, as `cargo lambda invoke` sends it.
        Returns (result, error): error is the function's error text, if it failed."""
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/2015-03-31/functions/{function}/invocations",
            data=json.dumps(payload).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                body = resp.read().decode(errors="replace")
                error = resp.headers.get("X-Amz-Function-Error")
        except urllib.error.HTTPError as e:
            return None, f"HTTP {e.code}: {e.read().decode(errors='replace')}"
        try:
            data = json.loads(body) if body else None
        except ValueError:
            data = body
        if error:
            return None, body
        if isinstance(data, dict) and "errorType" in data and "errorMessage" in data:
            return None, body
        return data, None
