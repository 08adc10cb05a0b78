"""A tiny TCP server on loopback standing in for a daemon's supervision port: on every
connection it writes its text and closes, as serCen (1125) and vivait-webfon (1122) answer
``nc localhost <port>``."""

from __future__ import annotations

import socket
import socketserver
import threading
from pathlib import Path

GOLDEN = Path(__file__).parent / "golden" / "supervision"


class _Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.server.connections += 1
        if self.server.hold_seconds:
            # A daemon that answers but keeps the connection open.
            self.request.sendall(self.server.answer)
            threading.Event().wait(self.server.hold_seconds)
            return
        self.request.sendall(self.server.answer)


class SupervisionServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, answer: str, *, hold_seconds: float = 0):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.answer = answer.encode()
        self.hold_seconds = hold_seconds
        self.connections = 0
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self.server_address[1]

    def __enter__(self) -> SupervisionServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()
        self.server_close()


def reference(name: str) -> str:
    """``sercen-status.txt`` or ``webfon-status.txt``: the answers the manual shows."""
    return (GOLDEN / name).read_text()


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
