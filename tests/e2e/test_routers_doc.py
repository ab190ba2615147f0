"""docs/routers.md's examples, run as written with bash: the ports and the directory under /tmp are swapped for
free ones (tests run side by side), and `greenflag` on PATH is this checkout. Each block must exit 0 and print
what the page says it prints."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import ROOT, free_port

pytestmark = pytest.mark.timeout(240)

DOC = ROOT / "docs" / "routers.md"
PORTS = ("8000", "8001", "9001", "9002")


def blocks() -> dict[str, str]:
    text = DOC.read_text()
    found = re.findall(r"<!-- routers-doc-test: ([\w-]+) -->\n```sh\n(.*?)```", text, flags=re.S)
    return dict(found)


@pytest.fixture
def shell(tmp_path: Path) -> Iterator[object]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "greenflag"
    shim.write_text(f'#!/bin/sh\nexec {sys.executable} -m greenflag "$@"\n')
    shim.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}:/usr/sbin", "PYTHONPATH": str(ROOT / "src")}
    ports = {p: str(free_port()) for p in PORTS}
    started: list[subprocess.Popen[str]] = []

    def run(name: str, directory: str) -> str:
        script = blocks()[name].replace(f"/tmp/greenflag-{directory}", str(tmp_path / directory))
        script = re.sub(r"\b(8000|8001|9001|9002)\b", lambda m: ports[m.group(1)], script)
        log = tmp_path / f"{name}.out"  # a file, not a pipe: what the block leaves running keeps its stderr
        with open(log, "w") as fh:
            proc = subprocess.Popen(
                ["bash", "-e", "-o", "pipefail", "-c", script], env=env, text=True, start_new_session=True,
                stdout=fh, stderr=subprocess.STDOUT,
            )  # fmt: skip
            started.append(proc)
            proc.wait(timeout=180)
        out = log.read_text()
        assert proc.returncode == 0, f"docs/routers.md block {name!r} failed:\n{out[-4000:]}"
        return out

    yield run
    for proc in started:  # whatever a block left running in its session (demo apps it started with &)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
    for pid_file in (tmp_path / "haproxy" / "haproxy.pid", tmp_path / "nginx" / "nginx.pid"):
        with contextlib.suppress(OSError, ValueError):
            os.kill(int(pid_file.read_text().split()[0]), signal.SIGTERM)


def test_the_page_has_one_example_per_router_kind() -> None:
    assert set(blocks()) == {"haproxy", "haproxy-release", "nginx"}


def test_haproxy_by_hand_then_a_release_through_it(shell: object) -> None:
    out = shell("haproxy", "haproxy")  # type: ignore[operator]
    assert "weights: blue=90 green=10" in out and "weights: blue=0 green=100" in out
    assert out.count('"version": "v2"') == 2 and "s_blue" not in out  # header route, then 100 % green
    release = shell("haproxy-release", "haproxy")  # type: ignore[operator]
    assert "v1 promoted; stable is v1" in release and "v2 promoted; stable is v2" in release
    assert '"version": "v2"' in release and '"green": 100' in release  # served, and read back from HAProxy


def test_nginx_by_hand(shell: object) -> None:
    out = shell("nginx", "nginx")  # type: ignore[operator]
    assert "weights: blue=90 green=10" in out and "weights: blue=0 green=100" in out
    assert re.search(r"\b[0-9a-f]{16}\b", out)  # the generation nginx's workers run
    assert out.count('"version": "v2"') == 2
