"""A recording HTTP proxy in front of moto_server (bench tooling).

The functions reach it through `AWS_ENDPOINT_URL`; it forwards every request to
moto unchanged and records the API action of each: `Action=` of the Query
protocol (EC2, ELBv2), or the `X-Amz-Target` header of the JSON protocols.
"""

from __future__ import annotations

import collections
import http.client
import http.server
import threading
import urllib.parse

WRITE_PREFIXES = ("Register", "Deregister", "Authorize", "Revoke", "Create", "Delete", "Modify", "Put")


def is_write(action: str) -> bool:
    return action.startswith(WRITE_PREFIXES)


class RecordingProxy:
    def __init__(self, upstream: str) -> None:
        up = urllib.parse.urlparse(upstream)
        self.upstream = (up.hostname, up.port)
        self.calls: list[str] = []
        self.lock = threading.Lock()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _forward(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))
                action = self.headers.get("X-Amz-Target", "").split(".")[-1]
                if not action:
                    query = urllib.parse.urlparse(self.path).query
                    form = urllib.parse.parse_qs(query)
                    if body and "x-www-form-urlencoded" in self.headers.get("Content-Type", ""):
                        form.update(urllib.parse.parse_qs(body.decode(errors="replace")))
                    action = (form.get("Action") or ["?"])[0]
                with proxy.lock:
                    proxy.calls.append(action)
                conn = http.client.HTTPConnection(*proxy.upstream, timeout=120)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection",)}
                conn.request(self.command, self.path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                self.send_response(resp.status)
                for k, v in resp.getheaders():
                    if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                conn.close()

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward

            def log_message(self, *_):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def take(self) -> collections.Counter:
        """The calls recorded since the last take, by action."""
        with self.lock:
            calls, self.calls = self.calls, []
        return collections.Counter(calls)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
