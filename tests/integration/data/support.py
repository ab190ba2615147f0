"""Real servers the data tests drive: a Varnish cache (Debian's `varnish` package) on 127.0.0.1 in front of a
backend, with a VCL written here that accepts PURGE and BAN from loopback only and caches every GET for an hour."""

from __future__ import annotations

import contextlib
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

from tests.support import free_port, start_process

__all__ = ["VCL", "varnish"]

VCL = """vcl 4.1;
backend default { .host = "127.0.0.1"; .port = "%(backend_port)d"; }
acl purgers { "127.0.0.1"; }
sub vcl_recv {
    if (req.method == "PURGE") {
        if (client.ip !~ purgers) { return (synth(405, "PURGE not allowed")); }
        return (purge);
    }
    if (req.method == "BAN") {
        if (client.ip !~ purgers) { return (synth(405, "BAN not allowed")); }
        if (!req.http.X-Ban-Url) { return (synth(400, "BAN needs X-Ban-Url")); }
        ban("req.url ~ " + req.http.X-Ban-Url);
        return (synth(200, "Banned"));
    }
    unset req.http.Cookie;
}
sub vcl_backend_response {
    unset beresp.http.Set-Cookie;
    set beresp.ttl = 1h;
}
sub vcl_deliver {
    if (obj.hits > 0) { set resp.http.X-Cache = "HIT"; } else { set resp.http.X-Cache = "MISS"; }
}
"""


def _accepts(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@contextlib.contextmanager
def varnish(backend_port: int) -> Iterator[str]:
    """varnishd in the foreground on a free loopback port, caching `backend_port`; yields its base URL. Its work
    directory is a fresh one under /tmp (the VCL compiler runs as Varnish's own user, which must read it)."""
    work = Path(tempfile.mkdtemp(prefix="greenflag-varnish-"))
    work.chmod(0o755)
    vcl = work / "test.vcl"
    vcl.write_text(VCL % {"backend_port": backend_port})
    vcl.chmod(0o644)
    port = free_port()
    cmd = ["varnishd", "-F", "-a", f"127.0.0.1:{port}", "-f", str(vcl), "-n", str(work / "n"), "-s", "malloc,32m",
           "-T", "none", "-p", "default_grace=0", "-p", "default_keep=0"]  # fmt: skip
    try:
        with start_process(cmd, ready=lambda: _accepts(port), timeout=30):
            yield f"http://127.0.0.1:{port}"
    finally:
        shutil.rmtree(work, ignore_errors=True)
