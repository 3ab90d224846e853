"""CloudFormation's `ResponseURL` and the private API, played on 127.0.0.1.

- `ResponseSink`: a stdlib HTTP server that plays CloudFormation's S3 pre-signed
  `ResponseURL` and records every PUT.
- `PrivateApi`: a local HTTPS server that plays the private API, with a
  throw-away CA made for the run.
"""

from __future__ import annotations

import datetime
import http.server
import ssl
import threading
from pathlib import Path


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
        return (
            f"http://127.0.0.1:{self.port}/{name}"
            "?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-SignedHeaders=host&X-Amz-Signature=0"
        )

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

        now = datetime.datetime.now(datetime.UTC)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "frontdoor demo throw-away CA")])
        ca = (
            x509.CertificateBuilder()
            .subject_name(ca_name)
            .issuer_name(ca_name)
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    key_cert_sign=True,
                    crl_sign=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(ca_key, hashes.SHA256())
        )
        key = ec.generate_private_key(ec.SECP256R1())
        leaf = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)]))
            .issuer_name(ca_name)
            .public_key(key.public_key())
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
        key_path.write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
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

        self._context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._context.load_cert_chain(cert_path, key_path)
        self._handler = Handler
        self._servers: list[http.server.ThreadingHTTPServer] = []
        self.hostname = hostname
        self.port = 0
        self.port = self.serve_on("127.0.0.1")

    def serve_on(self, address: str) -> int:
        """Serves the same API on `address` too, on the same port (a second
        Region's load balancer, for the drill), and returns the port."""
        server = http.server.ThreadingHTTPServer((address, self.port), self._handler)
        server.socket = self._context.wrap_socket(server.socket, server_side=True)
        self._servers.append(server)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server.server_address[1]

    @property
    def running(self) -> bool:
        return bool(self._servers)

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        self._servers.clear()
