"""Fixtures of the bionn.data tests: an autouse sandbox (no internet, no proxies, no user data
directories, no writes to the real cache) and a throwaway local HTTP server."""

from __future__ import annotations

import functools
import http.server
import socket
import threading
from types import SimpleNamespace

import pytest


@pytest.fixture(autouse=True)
def sandbox(monkeypatch, tmp_path):
    """No internet, no proxies, no user data directories, no writes to the real cache."""
    real_connect = socket.socket.connect

    def guarded_connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and address[0] not in ("127.0.0.1", "::1", "localhost"):
            raise RuntimeError(f"test tried to reach the network: {address!r}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "*")
    monkeypatch.setenv("NO_PROXY", "*")
    monkeypatch.delenv("BIONN_DATA", raising=False)
    monkeypatch.delenv("BIONN_SHARED_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))


@pytest.fixture
def http_server(tmp_path):
    """A throwaway HTTP server on 127.0.0.1 (random port) serving tmp_path/www.

    It honours ``Range: bytes=N-`` (206) unless ``ranges`` is set False; ``cut[path] = n`` makes the
    next GET of ``path`` announce the whole length but close after ``n`` bytes (an interrupted
    download). ``requests`` lists the paths asked for, ``headers`` each request's Range header.
    """
    root = tmp_path / "www"
    root.mkdir()
    requests, headers, cut = [], [], {}
    state = SimpleNamespace(ranges=True)

    class Handler(http.server.SimpleHTTPRequestHandler):
        def do_GET(self):
            requests.append(self.path)
            headers.append(self.headers.get("Range"))
            path = root / self.path.lstrip("/")
            rng = self.headers.get("Range")
            if not path.is_file() or not (state.ranges and rng or self.path in cut):
                return super().do_GET()
            payload = path.read_bytes()
            start = int(rng[len("bytes=") : -1]) if state.ranges and rng else 0
            if start >= len(payload):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(payload)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
            body = payload[start:]
            self.send_response(206 if start else 200)
            if start:
                self.send_header("Content-Range", f"bytes {start}-{len(payload) - 1}/{len(payload)}")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            n = cut.pop(self.path, None)
            self.wfile.write(body if n is None else body[:n])
            if n is not None:
                self.close_connection = True
            return None

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield SimpleNamespace(
            root=root,
            url=f"http://127.0.0.1:{server.server_address[1]}/",
            requests=requests,
            headers=headers,
            cut=cut,
            state=state,
        )
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
