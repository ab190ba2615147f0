"""Real servers on 127.0.0.1 that more than one test module needs: moto's AWS API server, Prometheus, a static HTTP
server that answers fixed bodies (JSON, Prometheus text) in a thread, and HAProxy and nginx (the Debian packages)
configured the way `greenflag router haproxy-config` / `nginx-config` print them."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import threading
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml

from tests.support import free_port, start_process

__all__ = ["AWS_TEST_ENV", "haproxy_server", "moto_server", "prometheus_command", "serve_static"]

AWS_TEST_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    """moto's AWS API server on a free loopback port; yields its endpoint URL. Set AWS_TEST_ENV first."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def prometheus_command(tmp_path: Path, target: str, *, token: str | None = None) -> tuple[list[str], str]:
    """The command line of a Prometheus (the Debian package) scraping `target` (host:port) every second, storing
    in tmp_path, and the address it will answer on. `token` is sent as a bearer token with each scrape."""
    port = free_port()
    job: dict[str, object] = {"job_name": "greenflag-test", "static_configs": [{"targets": [target]}]}
    if token is not None:
        job["authorization"] = {"credentials": token}
    config = {"global": {"scrape_interval": "1s", "evaluation_interval": "1s"}, "scrape_configs": [job]}
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    cmd = [
        "prometheus",
        f"--config.file={path}",
        f"--storage.tsdb.path={tmp_path / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--log.level=warn",
    ]
    return cmd, f"http://127.0.0.1:{port}"


@contextlib.contextmanager
def serve_static(pages: Mapping[str, tuple[str, bytes]]) -> Iterator[str]:
    """An HTTP/1.1 server answering GET `path?query` with (content type, body) from `pages`, 404 otherwise; yields
    its base URL. It runs in a thread, so it also serves tests whose event loop is busy."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            content_type, body = pages.get(self.path, ("text/plain", b"not found"))
            self.send_response(200 if self.path in pages else 404)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _binary(name: str) -> str:
    import pytest

    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if path is None:
        pytest.skip(f"needs the {name} Debian package")
    return path


@contextlib.contextmanager
def haproxy_server(config: str, directory: Path, listen_port: int) -> Iterator[subprocess.Popen[bytes]]:
    """HAProxy (foreground, `-db`) running `config` from `directory`; ready once its frontend accepts."""
    import socket

    path = directory / "haproxy.cfg"
    path.write_text(config)
    check = subprocess.run([_binary("haproxy"), "-c", "-q", "-f", str(path)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr

    def accepting() -> bool:
        with socket.create_connection(("127.0.0.1", listen_port), timeout=0.5):
            return True

    with start_process([_binary("haproxy"), "-db", "-f", str(path)], ready=accepting, cwd=directory) as proc:
        yield proc
