"""A real HTTP server on 127.0.0.1 for the sync tests, with answers the test programs.

Not a mock: the client under test opens real sockets and speaks real HTTP to this server; the
test decides what the server says (files with validators, error statuses, Retry-After, stalls,
truncated bodies) and reads back every request it saw.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Seen:
    """One request as the server received it."""

    path: str
    query: dict[str, str]
    headers: dict[str, str]


@dataclass
class Reply:
    """One programmed answer. `body` None with status 200 is an error in the test."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None          # enables If-None-Match -> 304
    last_modified: float | None = None  # epoch seconds; enables If-Modified-Since -> 304
    stall: float = 0.0               # seconds to wait before answering
    stall_after: int | None = None   # send this many body bytes, then wait `stall` and close
    send_length: bool = True         # False: no Content-Length, connection closed at the end


Handler = Callable[[Seen], Reply]


class LocalWeb:
    """`with LocalWeb() as web:` serves `web.routes` (path -> Reply, list of Replies, or
    function of the request; a path ending in `*` is a prefix) at `web.url`."""

    def __init__(self) -> None:
        self.routes: dict[str, Reply | list[Reply] | Handler] = {}
        self.seen: list[Seen] = []
        self.on_request: Callable[[Seen], None] | None = None
        self._lock = threading.Lock()
        web = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # quiet tests
                pass

            def do_GET(self) -> None:  # noqa: N802 (http.server naming)
                web._answer(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.server.block_on_close = False  # stalled handlers must not hold up the test
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever,
                                        kwargs={"poll_interval": 0.02}, daemon=True)

    def __enter__(self) -> LocalWeb:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def file(self, path: str, body: bytes, *, etag: str | None = None,
             modified: float | None = None, **headers: str) -> None:
        """Serve `body` at `path` with validators, as a static file server would."""
        self.routes[path] = Reply(body=body, etag=etag, last_modified=modified, headers=headers)

    def paths(self, prefix: str = "") -> list[str]:
        return [s.path for s in self.seen if s.path.startswith(prefix)]

    def _pick(self, seen: Seen) -> Reply:
        with self._lock:
            self.seen.append(seen)
            route = self.routes.get(seen.path)
            if route is None:   # "prefix*" routes answer every path under the prefix
                route = next((r for k, r in self.routes.items()
                              if k.endswith("*") and seen.path.startswith(k[:-1])), None)
            if isinstance(route, list):
                reply = route.pop(0) if len(route) > 1 else route[0]
            elif callable(route):
                reply = route(seen)
            elif route is None:
                reply = Reply(status=404, body=b"not found")
            else:
                reply = route
        if self.on_request:
            self.on_request(seen)
        return reply

    def _answer(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        seen = Seen(path=parts.path, query={k: v[0] for k, v in parse_qs(parts.query).items()},
                    headers={k.lower(): v for k, v in h.headers.items()})
        reply = self._pick(seen)
        if reply.stall and reply.stall_after is None:
            time.sleep(reply.stall)
        status, body = reply.status, reply.body
        headers = dict(reply.headers)
        if reply.etag:
            headers["ETag"] = reply.etag
        if reply.last_modified is not None:
            headers["Last-Modified"] = formatdate(reply.last_modified, usegmt=True)
        if status == 200 and _not_modified(seen, reply):
            status, body = 304, b""
        try:
            h.send_response(status)
            for k, v in headers.items():
                h.send_header(k, v)
            if reply.send_length and reply.stall_after is None:
                h.send_header("Content-Length", str(len(body)))
            else:
                h.send_header("Connection", "close")
                h.close_connection = True
            h.end_headers()
            if reply.stall_after is not None:
                h.wfile.write(body[:reply.stall_after])
                h.wfile.flush()
                time.sleep(reply.stall)
                return
            h.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass


def _not_modified(seen: Seen, reply: Reply) -> bool:
    if reply.etag and seen.headers.get("if-none-match") == reply.etag:
        return True
    if reply.last_modified is not None and "if-modified-since" in seen.headers:
        return seen.headers["if-modified-since"] == formatdate(reply.last_modified, usegmt=True)
    return False
