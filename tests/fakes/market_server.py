"""A scripted market-data HTTP server on 127.0.0.1 for provider tests (real sockets).

Script replies per path (+ a subset of query parameters) and count the hits::

    server.add("/query", Reply(body=payload("alphavantage", "global_quote")),
               function="GLOBAL_QUOTE")
    server.add("/quote", [Reply(500), Reply(body={...})])   # 500 once, then the 2nd reply

A route's replies are served in order; the last one repeats. Later routes win over earlier
ones. Unmatched requests get 404 ``{"detail": "no scripted reply"}``. Each request is
recorded (path, query, headers) in :attr:`MarketServer.requests`.

Fixtures: ``market_server_session`` (one server per test session) and ``market_server``
(reset per test). Payloads in the documented shapes live in ``payloads/<provider>/``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

PAYLOADS = Path(__file__).with_name("payloads")


def payload(provider: str, name: str) -> Any:
    """A JSON payload from ``payloads/<provider>/<name>.json``."""
    return json.loads((PAYLOADS / provider / f"{name}.json").read_text())


@dataclass
class Reply:
    """One scripted answer. ``body``: dict/list → JSON; str/bytes → sent as is."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to sleep before answering (timeouts)
    content_type: str = "application/json"

    def encoded(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body).encode()


@dataclass
class Hit:
    path: str
    query: dict[str, str]
    headers: dict[str, str]


@dataclass
class _Route:
    path: str
    query: dict[str, str]
    replies: list[Reply]
    served: int = 0

    def matches(self, path: str, query: dict[str, str]) -> bool:
        return path == self.path and all(query.get(k) == v for k, v in self.query.items())

    def next_reply(self) -> Reply:
        reply = self.replies[min(self.served, len(self.replies) - 1)]
        self.served += 1
        return reply


class MarketServer:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._routes: list[_Route] = []
        self.requests: list[Hit] = []
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="fake-market", daemon=True
        )

    # scripting ----------------------------------------------------------------------------
    def add(self, path: str, replies: Reply | list[Reply], **query: str) -> None:
        """Answer GET ``path`` (with at least these query values) with ``replies``."""
        items = replies if isinstance(replies, list) else [replies]
        with self._lock:
            self._routes.append(_Route(path, {k: str(v) for k, v in query.items()}, items))

    def hits(self, path: str | None = None, **query: str) -> int:
        """Requests seen for ``path`` (all when None) whose query has these values."""
        with self._lock:
            return sum(
                1
                for h in self.requests
                if (path is None or h.path == path)
                and all(h.query.get(k) == str(v) for k, v in query.items())
            )

    def reset(self) -> None:
        with self._lock:
            self._routes.clear()
            self.requests.clear()

    # serving ------------------------------------------------------------------------------
    def _reply_for(self, path: str, query: dict[str, str], headers: dict[str, str]) -> Reply:
        with self._lock:
            self.requests.append(Hit(path, query, headers))
            for route in reversed(self._routes):
                if route.matches(path, query):
                    return route.next_reply()
        return Reply(404, {"detail": "no scripted reply"})

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = dict(parse_qsl(parts.query, keep_blank_values=True))
                reply = server._reply_for(parts.path, query, dict(self.headers.items()))
                if reply.delay:
                    time.sleep(reply.delay)
                body = reply.encoded()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", reply.content_type)
                    self.send_header("Content-Length", str(len(body)))
                    for key, value in reply.headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout tests)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


@pytest.fixture(scope="session")
def market_server_session() -> Iterator[MarketServer]:
    server = MarketServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def market_server(market_server_session: MarketServer) -> Iterator[MarketServer]:
    market_server_session.reset()
    yield market_server_session
    market_server_session.reset()
