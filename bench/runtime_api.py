"""A small Lambda Runtime API emulator that records timestamps (bench tooling).

It serves the three calls a runtime makes (`GET /2018-06-01/runtime/invocation/next`,
`POST …/invocation/<id>/response`, `POST …/invocation/<id>/error`, and
`POST …/runtime/init/error`), on 127.0.0.1, to one function process at a time.

What it measures, for one process:
- init: from just before the process is spawned to the arrival of its first
  `next` (the moment the runtime is ready for work);
- each invocation: from the moment `next` hands out the event to the arrival of
  its response (or error);
- peak RSS: the process's `VmHWM` from /proc, read after the last invocation.
"""

from __future__ import annotations

import http.server
import json
import queue
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from frontdoor_dev.processes import spawn, stop

PREFIX = "/2018-06-01/runtime"


@dataclass
class Invocation:
    request_id: str
    payload: bytes
    handed_out: float = 0.0
    finished: float = 0.0
    ok: bool = False
    body: bytes = b""
    done: threading.Event = field(default_factory=threading.Event)

    @property
    def duration_ms(self) -> float:
        return (self.finished - self.handed_out) * 1000


class RuntimeApi:
    def __init__(self) -> None:
        self.pending: queue.Queue[Invocation] = queue.Queue()
        self.by_id: dict[str, Invocation] = {}
        self.first_next: float | None = None
        self.first_next_cpu_ms: float | None = None
        self.pid: int | None = None
        self.pid_set = threading.Event()
        self.first_next_event = threading.Event()
        self.init_error: bytes | None = None
        api = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the real Runtime API

            def _reply(self, code: int, body: bytes = b"", headers: dict | None = None) -> None:
                self.send_response(code)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                if self.path != f"{PREFIX}/invocation/next":
                    return self._reply(404)
                now = time.perf_counter()
                if api.first_next is None:
                    api.first_next = now
                    if api.pid_set.wait(5):
                        api.first_next_cpu_ms = cpu_ms(api.pid)
                    api.first_next_event.set()
                inv = api.pending.get()
                if inv is None:  # shutting down
                    return self._reply(410)
                inv.handed_out = time.perf_counter()
                deadline_ms = int((time.time() + 60) * 1000)
                self._reply(
                    200,
                    inv.payload,
                    {
                        "Content-Type": "application/json",
                        "Lambda-Runtime-Aws-Request-Id": inv.request_id,
                        "Lambda-Runtime-Deadline-Ms": str(deadline_ms),
                        "Lambda-Runtime-Invoked-Function-Arn": "arn:aws:lambda:us-east-1:123456789012:function:bench",
                        "Lambda-Runtime-Trace-Id": "Root=1-00000000-000000000000000000000000;Sampled=0",
                    },
                )

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))
                now = time.perf_counter()
                parts = self.path.split("/")
                if self.path == f"{PREFIX}/init/error":
                    api.init_error = body
                    api.first_next_event.set()
                    return self._reply(202, b'{"status":"OK"}')
                # /2018-06-01/runtime/invocation/<id>/(response|error)
                if len(parts) == 6 and parts[3] == "invocation" and parts[5] in ("response", "error"):
                    inv = api.by_id.get(parts[4])
                    if inv is None:
                        return self._reply(404)
                    inv.finished, inv.ok, inv.body = now, parts[5] == "response", body
                    inv.done.set()
                    return self._reply(202, b'{"status":"OK"}')
                return self._reply(404)

            def log_message(self, *_):
                pass

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def invoke(self, payload: dict, timeout: float = 120) -> Invocation:
        inv = Invocation(str(uuid.uuid4()), json.dumps(payload).encode())
        self.by_id[inv.request_id] = inv
        self.pending.put(inv)
        if not inv.done.wait(timeout):
            raise TimeoutError(f"no response to invocation {inv.request_id} within {timeout}s")
        return inv

    def close(self) -> None:
        self.pending.put(None)  # type: ignore[arg-type]
        self.server.shutdown()
        self.server.server_close()


class QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a function process killed mid-request is expected here


def cpu_ms(pid: int) -> float:
    """On-CPU time of every thread of `pid` so far (/proc/<pid>/task/*/schedstat), in ms.
    Unlike wall time, it does not grow when other processes compete for the cores."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total / 1e6


def lambda_env(runtime_api: str, name: str) -> dict[str, str]:
    return {
        "AWS_LAMBDA_RUNTIME_API": runtime_api,
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
        "LANG": "C.UTF-8",
        "PATH": "/usr/bin:/bin",
    }


def peak_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM")


@dataclass
class Run:
    init_ms: float
    init_cpu_ms: float
    durations_ms: list[float]
    peak_rss_kib: int
    results: list[Invocation]


def run_function(
    cmd: list[str],
    env: dict[str, str],
    events: list,
    log: Path,
    name: str = "bench",
    before=None,
    after=None,
    timeout: float = 120,
) -> Run:
    """Spawns `cmd` as a Lambda function process, sends it `events` one by one
    (cold first, then warm), and returns what was measured. An event may be a
    callable of its index. `before(i)` and `after(i, invocation)` run around
    invocation i, outside the measured window. The process is stopped by its PID."""
    api = RuntimeApi()
    full_env = {**lambda_env(api.address, name), **env}
    try:
        t0 = time.perf_counter()
        proc = spawn(cmd, log, env=full_env)
        api.pid = proc.pid
        api.pid_set.set()
        try:
            if not api.first_next_event.wait(timeout):
                raise TimeoutError(f"{cmd[0]} never asked for an invocation")
            if api.init_error is not None or api.first_next is None:
                raise RuntimeError(f"{cmd[0]} failed its initialisation: {api.init_error!r}")
            init_ms = (api.first_next - t0) * 1000
            results = []
            for i, event in enumerate(events):
                if before:
                    before(i)
                inv = api.invoke(event(i) if callable(event) else event, timeout)
                if not inv.ok:
                    raise RuntimeError(f"{cmd[0]} invocation {i} failed: {inv.body[:500]!r}")
                if after:
                    after(i, inv)
                results.append(inv)
            rss = peak_rss_kib(proc.pid)
            return Run(init_ms, api.first_next_cpu_ms or float("nan"), [r.duration_ms for r in results], rss, results)
        finally:
            stop(proc)
    finally:
        api.close()
