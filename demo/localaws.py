"""Local stand-ins shared by `make demo` and `make bench` (tooling, not product code).

- `Processes`: every child process started here, stopped by its PID (and its own
  process group) on exit, on an exception, or on SIGINT/SIGTERM/SIGHUP.
- `start_moto`: moto_server on a free port of 127.0.0.1.
- `ResponseSink`: a stdlib HTTP server that plays CloudFormation's S3 pre-signed
  `ResponseURL` and records every PUT.
- `PrivateApi`: a local HTTPS server that plays the private API, with a
  throw-away CA made for the run.
- `Watch`: `cargo lambda watch` (the Lambda Runtime API emulator) on 127.0.0.1,
  and the Lambda Invoke API calls it answers.
"""

from __future__ import annotations

import datetime
import http.server
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REGION = "us-east-1"
TEST_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_REGION": REGION,
    "AWS_DEFAULT_REGION": REGION,
    "AWS_EC2_METADATA_DISABLED": "true",
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Processes:
    """Children started by this run; `stop_all` ends each one by its PID."""

    def __init__(self) -> None:
        self.children: list[tuple[str, subprocess.Popen]] = []
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, self._on_signal)

    def _on_signal(self, signum, _frame):
        raise SystemExit(128 + signum)

    def start(self, name: str, cmd: list[str], log: Path, **kwargs) -> subprocess.Popen:
        out = open(log, "ab")
        # A session of its own, so that the group led by this PID holds its
        # children too (cargo lambda watch -> cargo run -> the function).
        proc = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, **kwargs,
        )
        out.close()
        self.children.append((name, proc))
        return proc

    def stop(self, proc: subprocess.Popen) -> None:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)  # the group this PID leads
            except ProcessLookupError:
                pass
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(timeout=5)
        else:
            # The leader is gone; make sure nothing it started lingers.
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except (ProcessLookupError, PermissionError):
                pass

    def stop_all(self) -> list[str]:
        stopped = []
        while self.children:
            name, proc = self.children.pop()
            self.stop(proc)
            stopped.append(f"{name} (pid {proc.pid})")
        return stopped


def start_moto(procs: Processes, logdir: Path, moto_server: str = "moto_server") -> str:
    log = logdir / "moto.log"
    proc = procs.start("moto_server", [moto_server, "-H", "127.0.0.1", "-p", "0"], log)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        m = re.search(r"http://127\.0\.0\.1:(\d+)", log.read_text(errors="replace"))
        if m:
            url = f"http://127.0.0.1:{m.group(1)}"
            try:
                urllib.request.urlopen(url + "/moto-api/", timeout=2).read()
                return url
            except OSError:
                pass
        if proc.poll() is not None:
            raise RuntimeError("moto_server exited:\n" + log.read_text(errors="replace"))
        time.sleep(0.1)
    raise RuntimeError("moto_server printed no port within 30 s")


class ResponseSink:
    """Plays the S3 pre-signed ResponseURL: records each PUT by its path."""

    def __init__(self) -> None:
        self.puts: dict[str, list[dict]] = {}
        self.cond = threading.Condition()
        sink = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_PUT(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with sink.cond:
                    sink.puts.setdefault(self.path.split("?")[0], []).append(
                        {"body": body, "content_type": self.headers.get("Content-Type")}
                    )
                    sink.cond.notify_all()
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, name: str) -> str:
        # Shaped like the real pre-signed URL: a path and a query string.
        return (f"http://127.0.0.1:{self.port}/{name}"
                "?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-SignedHeaders=host&X-Amz-Signature=0")

    def wait(self, name: str, timeout: float = 10) -> list[dict]:
        path = "/" + name
        with self.cond:
            self.cond.wait_for(lambda: path in self.puts, timeout=timeout)
            return list(self.puts.get(path, []))

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class PrivateApi:
    """A local HTTPS server playing the private API, with a throw-away CA."""

    def __init__(self, workdir: Path, hostname: str) -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        now = datetime.datetime.now(datetime.timezone.utc)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "frontdoor demo throw-away CA")])
        ca = (
            x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
            .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .sign(ca_key, hashes.SHA256())
        )
        key = ec.generate_private_key(ec.SECP256R1())
        leaf = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)]))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(hostname)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        pem = serialization.Encoding.PEM
        self.ca_path = workdir / "demo-ca.pem"
        self.ca_path.write_bytes(ca.public_bytes(pem))
        cert_path, key_path = workdir / "api-cert.pem", workdir / "api-key.pem"
        cert_path.write_bytes(leaf.public_bytes(pem))
        key_path.write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        self.hits = 0
        api = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                api.hits += 1
                body = b'{"status":"ok"}' if self.path.startswith("/health") else b'{"message":"Not Found"}'
                self.send_response(200 if self.path.startswith("/health") else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_):
                pass

        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert_path, key_path)
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.hostname = hostname
        self.running = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.running:
            self.server.shutdown()
            self.server.server_close()
            self.running = False


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
            [cargo_lambda, "lambda", "watch", "--ignore-changes", "--quiet",
             "--invoke-address", "127.0.0.1", "--invoke-port", str(self.port),
             "--env-file", str(env_file)],
            self.log, cwd=ROOT, env={**os.environ, "NO_COLOR": "1", "CARGO_TERM_COLOR": "never"},
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
            data=json.dumps(payload).encode(), method="POST",
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


def venv_tool(name: str) -> str:
    """A tool from the venv that runs this Python (the Makefile's pinned tools)."""
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else name
