"""Real servers on 127.0.0.1 that more than one test module needs: moto's AWS API server, Prometheus, a static HTTP
server that answers fixed bodies (JSON, Prometheus text) in a thread, and HAProxy and nginx (the Debian packages)
configured the way `greenflag router haproxy-config` / `nginx-config` print them."""

from __future__ import annotations

import contextlib
import functools
import shutil
import subprocess
import threading
from collections.abc import Iterator, Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

from tests.support import accepting, free_port, start_process

__all__ = [
    "AWS_TEST_ENV",
    "haproxy_router",
    "haproxy_server",
    "moto_server",
    "nginx_for",
    "nginx_server",
    "nginx_spec",
    "prometheus_server",
    "scrape_job",
    "serve_static",
]

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


def scrape_job(name: str, target: str, *, token: str | None = None, token_file: Path | None = None) -> dict[str, Any]:
    """A Prometheus scrape job for one `host:port` target, with a bearer token (or a file holding it)."""
    job: dict[str, Any] = {"job_name": name, "static_configs": [{"targets": [target]}]}
    if token is not None:
        job["authorization"] = {"credentials": token}
    elif token_file is not None:
        job["authorization"] = {"credentials_file": str(token_file)}
    return job


@contextlib.contextmanager
def prometheus_server(directory: Path, jobs: list[dict[str, Any]], *, rule_files: tuple[Path, ...] = ()
                      ) -> Iterator[str]:  # fmt: skip
    """Prometheus (the Debian package) scraping `jobs` every second (rules evaluated every second too), storing in
    `directory`; yields its address once `/-/ready` answers."""
    port = free_port()
    config: dict[str, Any] = {"global": {"scrape_interval": "1s", "evaluation_interval": "1s"}, "scrape_configs": jobs}
    if rule_files:
        config["rule_files"] = [str(f) for f in rule_files]
    path = directory / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    cmd = [
        _binary("prometheus"),
        f"--config.file={path}",
        f"--storage.tsdb.path={directory / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--log.level=warn",
    ]
    address = f"http://127.0.0.1:{port}"
    with start_process(cmd, ready_url=address + "/-/ready", timeout=60):
        yield address


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
    path = directory / "haproxy.cfg"
    path.write_text(config)
    check = subprocess.run([_binary("haproxy"), "-c", "-q", "-f", str(path)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    ready = functools.partial(accepting, listen_port)
    with start_process([_binary("haproxy"), "-db", "-f", str(path)], ready=ready, cwd=directory) as proc:
        yield proc


@contextlib.contextmanager
def nginx_server(
    config: str, prefix: Path, status_url: str | None = None, *, ports: Sequence[int] = ()
) -> Iterator[list[str]]:
    """nginx (master + workers, in the foreground) running `config` from `prefix`, checked with `nginx -t` first;
    ready once `status_url` answers, else once every port of `ports` accepts. Yields the command prefix that reaches
    this instance (`nginx -p PREFIX -c CONF`), to which `-t` or `-s reload` are added; fails if nginx exited before
    the end. The config names its own pid and error_log files (several nginx run side by side)."""
    path = prefix / "nginx.conf"
    path.write_text(config)
    base = [_binary("nginx"), "-p", str(prefix), "-c", str(path)]
    check = subprocess.run([*base, "-t", "-q"], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    ready = None if status_url is not None else (lambda: all(accepting(p) for p in ports))
    with start_process([*base, "-g", "daemon off;"], ready_url=status_url, ready=ready, timeout=60) as proc:
        yield base
        assert proc.poll() is None, f"nginx exited with {proc.returncode} during the test"


def haproxy_router(directory: Path, *, routes: str = "", **keys: Any) -> dict[str, Any]:
    """The `router:` section of a `kind: haproxy` spec with slots blue (s_blue) and green (s_green) of backend
    `app`, its Runtime API socket and route map in `directory` (the map written with `routes`); `keys` added."""
    (directory / "routes.map").write_text(routes)
    return {
        "kind": "haproxy",
        "socket": str(directory / "admin.sock"),
        "backend": "app",
        "servers": {"blue": "s_blue", "green": "s_green"},
        "route_map": str(directory / "routes.map"),
        **keys,
    }


def nginx_spec(prefix: Path, servers: dict[str, str], **keys: object) -> tuple[dict[str, object], int]:
    """The `router:` section of a `kind: nginx` spec whose nginx runs from `prefix` (reload and test commands
    reach that instance, the status location on its own port), and the port clients use."""
    listen, status = free_port(), free_port()
    base = [_binary("nginx"), "-p", str(prefix), "-c", str(prefix / "nginx.conf")]
    router: dict[str, object] = {
        "kind": "nginx",
        "upstream_file": str(prefix / "app-upstream.conf"),
        "upstream": "app",
        "servers": servers,
        "status_url": f"http://127.0.0.1:{status}/greenflag/status",
        "access_log": str(prefix / "access.log"),
        "pid_file": str(prefix / "nginx.pid"),
        "listen": f"127.0.0.1:{listen}",
        "reload": [*base, "-s", "reload"],
        "test": [*base, "-t", "-q"],
        **keys,
    }
    return router, listen


@contextlib.contextmanager
def nginx_for(spec_file: Path, prefix: Path, *, via_cli: bool = False) -> Iterator[None]:
    """nginx configured for the spec in `spec_file` as `greenflag router nginx-config` (and `--upstream`) print it:
    through the command itself with `via_cli`, else by the same functions in this process (faster)."""
    from greenflag.config import load_spec
    from greenflag.spec import NginxRouterSpec
    from greenflag.traffic.nginx import NginxRouter
    from greenflag.traffic.nginx_conf import render_upstream
    from greenflag.traffic.nginx_config import render_nginx_config
    from tests.support import greenflag_cmd

    router = load_spec(spec_file).router
    assert isinstance(router, NginxRouterSpec) and router.listen is not None
    files = {"pid": str(prefix / "nginx.pid"), "error_log": str(prefix / "error.log")}
    if via_cli:
        common = ["router", "nginx-config", "-f", str(spec_file)]
        options = ["--workers", "1", "--pid", files["pid"], "--error-log", files["error_log"]]
        config = subprocess.run(greenflag_cmd(*common, *options), capture_output=True, text=True, check=True).stdout
        upstream = subprocess.run(greenflag_cmd(*common, "--upstream"), capture_output=True, text=True, check=True)
        first = upstream.stdout
    else:
        config = render_nginx_config(router, listen=router.listen, workers="1", **files)
        first = render_upstream(NginxRouter(router).initial_state())
    Path(router.upstream_file).write_text(first)
    with nginx_server(config, prefix, router.status_url):
        yield
