"""Real servers the data tests drive: a Varnish cache (Debian's `varnish` package) on 127.0.0.1 in front of a
backend, with the VCL of docs/data-safety.md: PURGE and BAN from loopback only, every GET cached for an hour."""

from __future__ import annotations

import contextlib
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

from tests.support import free_port, start_process

__all__ = ["varnish", "vcl"]

DOC = Path(__file__).resolve().parents[3] / "docs" / "data-safety.md"


def vcl(backend_port: int) -> str:
    """The VCL docs/data-safety.md shows, with its backend on `backend_port`."""
    text = DOC.read_text().split("```vcl\n", 1)[1].split("```", 1)[0]
    assert '.port = "8000";' in text
    return text.replace('.port = "8000";', f'.port = "{backend_port}";')


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
    vcl_file = work / "test.vcl"
    vcl_file.write_text(vcl(backend_port))
    vcl_file.chmod(0o644)
    port = free_port()
    cmd = ["varnishd", "-F", "-a", f"127.0.0.1:{port}", "-f", str(vcl_file), "-n", str(work / "n"), "-s", "malloc,32m",
           "-T", "none", "-p", "default_grace=0", "-p", "default_keep=0"]  # fmt: skip
    try:
        with start_process(cmd, ready=lambda: _accepts(port), timeout=30):
            yield f"http://127.0.0.1:{port}"
    finally:
        shutil.rmtree(work, ignore_errors=True)
