"""The demo's Lambda: `cargo lambda watch` serves the Runtime API, and the four
function binaries that `cargo test` already built run beside it.

`cargo lambda watch` alone would build and run each function itself
(`cargo run --bin <function>`), and its feature resolution differs from
`cargo test --workspace --all-targets`: the SDK crates would be compiled a
second time. So it runs with `--only-lambda-apis`, and the demo starts each
binary from the target directory, pointed at its own route of the Runtime API
(`AWS_LAMBDA_RUNTIME_API=http://127.0.0.1:<port>/.rt/<function>`).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from frontdoor_dev import ROOT
from frontdoor_dev.processes import Processes, free_port

FUNCTIONS = ("eni-targets", "prefix-list-ingress", "target-sync", "health-probe")


def target_dir() -> Path:
    """Cargo's target directory: $CARGO_TARGET_DIR (the Makefile exports it), else ROOT/target."""
    configured = os.environ.get("CARGO_TARGET_DIR")
    return ROOT / configured if configured else ROOT / "target"


def binary(function: str) -> Path:
    """The debug binary of `function`, as `cargo build`/`cargo test --workspace --all-targets` leave it."""
    return target_dir() / "debug" / function


class Watch:
    """`cargo lambda watch --only-lambda-apis` on 127.0.0.1, and the four function binaries.

    Every function's stdout and stderr go, appended, into the same log as
    `cargo lambda watch`'s own output, so `log_offset`/`log_since` read what the
    functions printed (their EMF lines) and the log shows the functions' last output.
    """

    def __init__(self, procs: Processes, logdir: Path, env: dict[str, str], cargo_lambda: str) -> None:
        self.port = free_port()
        self.log = logdir / "cargo-lambda-watch.log"
        quiet = {"NO_COLOR": "1", "CARGO_TERM_COLOR": "never"}
        missing = [str(binary(f)) for f in FUNCTIONS if not binary(f).is_file()]
        if missing:
            raise RuntimeError("function binaries missing (the build step makes them): " + ", ".join(missing))
        self.proc = procs.start(
            "cargo lambda watch",
            [
                cargo_lambda,
                "lambda",
                "watch",
                "--only-lambda-apis",
                "--ignore-changes",
                "--quiet",
                "--invoke-address",
                "127.0.0.1",
                "--invoke-port",
                str(self.port),
            ],
            self.log,
            cwd=ROOT,
            env={**os.environ, **quiet},
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("cargo lambda watch exited:\n" + self.log.read_text(errors="replace"))
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        else:
            raise RuntimeError("cargo lambda watch did not listen within 60 s")

        # What `cargo lambda watch` would give a function it runs itself: the
        # demo's variables, and the Lambda ones that lambda_runtime requires.
        self.functions: dict[str, subprocess.Popen] = {}
        for function in FUNCTIONS:
            self.functions[function] = procs.start(
                function,
                [str(binary(function))],
                self.log,
                cwd=ROOT,
                env={
                    **os.environ,
                    **quiet,
                    **env,
                    # The scheme is required: lambda_runtime parses a full URI.
                    # The /.rt/<function> path routes to this function's queue.
                    "AWS_LAMBDA_RUNTIME_API": f"http://127.0.0.1:{self.port}/.rt/{function}",
                    "AWS_LAMBDA_FUNCTION_NAME": function,
                    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
                    "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                },
            )

    def log_offset(self) -> int:
        return self.log.stat().st_size

    def log_since(self, offset: int) -> str:
        with open(self.log, "rb") as f:
            f.seek(offset)
            return f.read().decode(errors="replace")

    def invoke(self, function: str, payload: dict, timeout: float = 600) -> tuple[dict | None, str | None]:
        """The Lambda Invoke API, as `cargo lambda invoke` sends it.
        Returns (result, error): error is the function's error text, if it failed,
        or says that the function's process exited."""
        proc = self.functions[function]
        outcome: dict = {}

        def send() -> None:
            req = urllib.request.Request(
                f"http://127.0.0.1:{self.port}/2015-03-31/functions/{function}/invocations",
                data=json.dumps(payload).encode(),
                method="POST",
                headers={"Content-Type": "application/json"},
            )
            try:
                with urllib.request.urlopen(req, timeout=timeout) as resp:
                    outcome["body"] = resp.read().decode(errors="replace")
                    outcome["error"] = resp.headers.get("X-Amz-Function-Error")
            except urllib.error.HTTPError as e:
                outcome["http_error"] = f"HTTP {e.code}: {e.read().decode(errors='replace')}"
            except OSError as e:
                outcome["http_error"] = f"{type(e).__name__}: {e}"

        # A function that exits would leave the invocation waiting until the
        # timeout: watch its process meanwhile.
        sender = threading.Thread(target=send, daemon=True)
        sender.start()
        while sender.is_alive():
            sender.join(timeout=0.2)
            if sender.is_alive():
                for name, p in ((function, proc), ("cargo lambda watch", self.proc)):
                    if p.poll() is not None:
                        return None, f"{name} exited (status {p.returncode}); its output is in {self.log}"
        if "http_error" in outcome:
            return None, outcome["http_error"]
        body = outcome["body"]
        try:
            data = json.loads(body) if body else None
        except ValueError:
            data = body
        if outcome["error"]:
            return None, body
        if isinstance(data, dict) and "errorType" in data and "errorMessage" in data:
            return None, body
        return data, None
