"""Real commands for the slots and command platforms' tests: shell scripts, written into a test's directory, that
start and stop `greenflag demo-app` processes on 127.0.0.1.

- **A fleet of slots** (`Fleet`): each slot is a long-lived demo-app on a fixed loopback port. `deploy.sh`
  re-deploys a slot in place (stops what the slot ran, starts the version, waits until it is ready); `stop.sh`
  stops it. A version named `bad…` does not install (exit 3, `fatal: … does not install` on stderr); a file
  `VERSION.args` in the directory adds demo-app options (faults such as `--error-rate 0.3`), `VERSION.sleep` makes
  its deploy take that long first (its pid in `run/deploying.pid`).
- **Launch, stop and status commands** (`Orchestrator`): `launch.sh` starts a demo-app on a free port and prints
  `{"id": "task/INSTANCE-PID", "url": …}`; `stop.sh` stops one by id; `status.sh` lists the live ones as JSON.

Every script appends one line to `activity` when it runs, so a test sees which commands ran. The processes are
started with `setsid` (they outlive the command, like a service on a VM); `stop_all()` stops them by their pids.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tests.support import free_port

__all__ = ["Fleet", "Orchestrator"]

_COMMON = r"""#!/bin/sh
set -u
here=$(cd "$(dirname "$0")" && pwd)
run="$here/run"; mkdir -p "$run"
stop_pid() {  # SIGTERM, then SIGKILL after 5 s; waits until the process is gone
    [ -f "$1" ] || return 0
    pid=$(cat "$1"); kill "$pid" 2>/dev/null; i=0
    while kill -0 "$pid" 2>/dev/null; do
        i=$((i + 1)); [ "$i" -eq 100 ] && kill -9 "$pid" 2>/dev/null; [ "$i" -gt 200 ] && break; sleep 0.05
    done
    rm -f "$1"
}
args() { [ -f "$here/$1.args" ] && cat "$here/$1.args"; return 0; }
"""

_DEPLOY = _COMMON + r"""
echo "deploy $GREENFLAG_SLOT $GREENFLAG_VERSION (previous: ${GREENFLAG_PREVIOUS_VERSION:-none})" >> "$here/activity"
if [ -f "$here/$GREENFLAG_VERSION.sleep" ]; then
    echo $$ > "$run/deploying.pid"; sleep "$(cat "$here/$GREENFLAG_VERSION.sleep")"
fi
case "$GREENFLAG_VERSION" in
    bad*) echo "installing $GREENFLAG_VERSION on $GREENFLAG_SLOT"; echo "fatal: $GREENFLAG_VERSION does not install" >&2
          exit 3 ;;
esac
stop_pid "$run/$GREENFLAG_SLOT.pid"
port=${GREENFLAG_ADDRESS##*:}
setsid "$PYTHON" -m greenflag demo-app --port "$port" --version "$GREENFLAG_VERSION" $(args "$GREENFLAG_VERSION") \
    > "$run/$GREENFLAG_SLOT.log" 2>&1 < /dev/null &
echo $! > "$run/$GREENFLAG_SLOT.pid"
i=0
until curl -sf -o /dev/null "$GREENFLAG_ADDRESS/healthz/ready"; do
    i=$((i + 1)); [ "$i" -gt 300 ] && { echo "$GREENFLAG_VERSION did not get ready on $GREENFLAG_SLOT" >&2; exit 4; }
    sleep 0.1
done
echo "$GREENFLAG_VERSION is installed on $GREENFLAG_SLOT"
"""

_SLOT_STOP = _COMMON + r"""
echo "stop $GREENFLAG_SLOT $GREENFLAG_VERSION grace $GREENFLAG_STOP_GRACE" >> "$here/activity"
stop_pid "$run/$GREENFLAG_SLOT.pid"
"""

_LAUNCH = _COMMON + r"""
echo "launch $GREENFLAG_INSTANCE" >> "$here/activity"
case "$GREENFLAG_VERSION" in
    bad*) echo "fatal: $GREENFLAG_VERSION does not install" >&2; exit 3 ;;
esac
log="$run/$GREENFLAG_INSTANCE.$$.log"
setsid "$PYTHON" -m greenflag demo-app --port 0 --version "$GREENFLAG_VERSION" $(args "$GREENFLAG_VERSION") \
    > "$log" 2>&1 < /dev/null &
pid=$!
i=0
until url=$(sed -n 's/^listening on //p' "$log") && [ -n "$url" ]; do
    i=$((i + 1)); [ "$i" -gt 300 ] && { echo "no address from $GREENFLAG_INSTANCE" >&2; exit 4; }; sleep 0.1
done
echo "$pid" > "$run/$pid.pid"
id="task/$GREENFLAG_INSTANCE-$pid"
printf '{"id": "%s", "version": "%s", "url": "%s"}\n' "$id" "$GREENFLAG_VERSION" "$url" > "$run/$pid.json"
echo "started $GREENFLAG_INSTANCE as pid $pid"
cat "$run/$pid.json"
"""

_STOP = _COMMON + r"""
echo "stop $GREENFLAG_INSTANCE grace $GREENFLAG_STOP_GRACE" >> "$here/activity"
pid=${1##*-}
stop_pid "$run/$pid.pid"
rm -f "$run/$pid.json"
"""

_STATUS = _COMMON + r"""
printf '['; sep=''
for file in "$run"/*.json; do
    [ -f "$file" ] || continue
    pid=$(basename "$file" .json)
    kill -0 "$pid" 2>/dev/null || continue
    printf '%s' "$sep"; cat "$file"; sep=','
done
printf ']\n'
"""


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(0o755)
    return path


def _stop_pids(run: Path) -> None:
    for pidfile in run.glob("*.pid"):
        with contextlib.suppress(ValueError, OSError):
            os.kill(int(pidfile.read_text().strip()), signal.SIGTERM)
    deadline = time.monotonic() + 10
    for pidfile in run.glob("*.pid"):
        with contextlib.suppress(ValueError, OSError):
            pid = int(pidfile.read_text().strip())
            while time.monotonic() < deadline:
                os.kill(pid, 0)
                time.sleep(0.05)
            os.kill(pid, signal.SIGKILL)


@dataclass
class Fleet:
    """Slots on fixed loopback ports, re-deployed in place by `deploy.sh`."""

    root: Path
    slots: dict[str, str]  # slot → http://127.0.0.1:PORT

    @classmethod
    def create(cls, root: Path, names: tuple[str, ...] = ("blue", "green")) -> Fleet:
        root.mkdir(parents=True, exist_ok=True)
        _write(root / "deploy.sh", _DEPLOY)
        _write(root / "stop.sh", _SLOT_STOP)
        return cls(root, {name: f"http://127.0.0.1:{free_port()}" for name in names})

    def platform_keys(self, **extra: object) -> dict[str, object]:
        """The `platform:` section of greenflag.yaml for this fleet."""
        return {"kind": "slots", "slots": dict(self.slots), "deploy": [str(self.root / "deploy.sh")],
                "stop": [str(self.root / "stop.sh")], "env": {"PYTHON": sys.executable}, **extra}  # fmt: skip

    def activity(self) -> list[str]:
        path = self.root / "activity"
        return path.read_text().splitlines() if path.exists() else []

    def stop_all(self) -> None:
        _stop_pids(self.root / "run")


@dataclass
class Orchestrator:
    """`launch.sh`, `stop.sh {instance}` and `status.sh`, over demo-app processes on free ports."""

    root: Path

    @classmethod
    def create(cls, root: Path) -> Orchestrator:
        root.mkdir(parents=True, exist_ok=True)
        for name, text in (("launch.sh", _LAUNCH), ("stop.sh", _STOP), ("status.sh", _STATUS)):
            _write(root / name, text)
        return cls(root)

    def platform_keys(self, **extra: object) -> dict[str, object]:
        return {"kind": "command", "launch": [str(self.root / "launch.sh")],
                "stop": [str(self.root / "stop.sh"), "{instance}"], "status": [str(self.root / "status.sh")],
                "env": {"PYTHON": sys.executable}, **extra}  # fmt: skip

    def activity(self) -> list[str]:
        path = self.root / "activity"
        return path.read_text().splitlines() if path.exists() else []

    def stop_all(self) -> None:
        _stop_pids(self.root / "run")
