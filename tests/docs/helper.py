"""Run by the docs harness inside a page's sandbox (standalone: imports nothing from the tests).

helper.py wait PID LOG KIND [PORT ...]   wait until a background command is ready (exit 0) or fail (exit 1)
helper.py pyrun FILE                     run a Python block; top-level `await` is allowed (as `python -m asyncio`)
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import re
import socket
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

READY_TIMEOUT_S = 30.0


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _urls_accept(log: str) -> bool:
    """The output names http://HOST:PORT addresses and every one of them accepts connections."""
    ports = [int(p) for p in re.findall(r"http://(?:127\.0\.0\.1|localhost):(\d+)", log)]
    return bool(ports) and all(_accepts(p) for p in ports)


def _ready_url(log: str) -> bool:
    match = re.search(r"listening on (http://\S+)", log)
    if match is None:
        return False
    try:
        with urllib.request.urlopen(match.group(1) + "/healthz/ready", timeout=1) as response:
            return int(response.status) == 200
    except (urllib.error.URLError, OSError):
        return False


def wait(pid: int, log_path: str, kind: str, ports: list[int]) -> int:
    deadline = time.monotonic() + READY_TIMEOUT_S
    log = Path(log_path)
    while True:
        alive = _alive(pid)
        text = log.read_text(errors="replace") if log.exists() else ""
        if not alive:
            print(f"doc-test: background command exited before it was ready:\n{text[-3000:]}", file=sys.stderr)
            return 1
        if kind == "demo-app":
            ready = _ready_url(text)
        elif kind == "urls":
            ready = _urls_accept(text)
        else:
            ready = all(_accepts(p) for p in ports)
        if ready:
            return 0
        if time.monotonic() > deadline:
            what = {"demo-app": "/healthz/ready to answer 200", "urls": "the addresses it prints to answer"}.get(
                kind, f"ports {ports} to accept connections"
            )
            print(f"doc-test: waited {READY_TIMEOUT_S:g}s for {what}:\n{text[-3000:]}", file=sys.stderr)
            return 1
        time.sleep(0.05)


def pyrun(path: str) -> None:
    source = Path(path).read_text()
    code = compile(source, path, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    namespace = {"__name__": "__main__", "__file__": path}
    if code.co_flags & inspect.CO_COROUTINE:
        asyncio.run(eval(code, namespace))
    else:
        exec(code, namespace)


def main(argv: list[str]) -> int:
    if argv[:1] == ["wait"] and len(argv) >= 4:
        return wait(int(argv[1]), argv[2], argv[3], [int(p) for p in argv[4:]])
    if argv[:1] == ["pyrun"] and len(argv) == 2:
        sys.argv = [argv[1]]
        pyrun(argv[1])
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
