"""A version that cannot start is rolled back, not relaunched forever: `Up` with the process platform and real
commands that exit at once (`exit 3` after printing, a missing binary behind `sh -c`, a missing binary run
directly). The rollout ends within its bounds, the command ran max_restarts + 1 times, and the rollback event names
the exit code and the last lines of output; the stable version keeps serving throughout."""

from __future__ import annotations

import sys
from pathlib import Path

import aiohttp
import pytest

from greenflag.config import load_spec
from greenflag.rollout.model import Phase, Status
from greenflag.rollout.up import Up
from tests.support import local_release, save_spec

pytestmark = pytest.mark.timeout(120)

MAX_RESTARTS = 2
# v1 serves; a version with a `VERSION.broken` file prints two lines and exits 3 at once.
COMMAND = (
    'sh -c \'echo "attempt {instance}" >> attempts.txt; if [ -e {version}.broken ]; then '
    'echo "starting {version} on port {port}"; echo "fatal: cannot open config.yaml" >&2; exit 3; fi; '
    f"exec {sys.executable} -m greenflag demo-app --port {{port}} --version {{version}}'"
)


def write_spec(tmp_path: Path, command: str = COMMAND) -> Path:
    platform = {"command": command, "stop_grace": "2s", "max_restarts": MAX_RESTARTS}
    strategy = {"canary": {"steps": [{"set_weight": 50}], "abort_scale_down_delay": "200ms"}}
    spec = local_release(tmp_path, "starts", platform=platform, strategy=strategy, state_dir=str(tmp_path / "state"))
    return save_spec(tmp_path, spec)


def rollback_of(status: Status) -> str:
    return next(e.message for e in status.events if e.kind == "rollback")


async def served_version(up: Up) -> str:
    async with aiohttp.ClientSession() as session, session.get(up.router_url + "/version") as response:
        return str((await response.json())["version"])


async def test_a_command_that_exits_at_once_is_rolled_back_naming_code_and_output(tmp_path: Path) -> None:
    (tmp_path / "v2.broken").touch()
    up = Up(load_spec(write_spec(tmp_path)), tick_s=0.1)
    async with up.running():
        assert (await up.rollout("v1", timeout=60)).phase is Phase.HEALTHY
        final = await up.rollout("v2", timeout=30)  # before: relaunched forever, never done
        assert (final.phase, final.stable, final.weights) == (Phase.ROLLED_BACK, "v1", {"v1": 100})
        message = rollback_of(final)
        assert "v2-0 exited with code 3" in message, message
        assert "starting v2 on port " in message and "fatal: cannot open config.yaml" in message, message
        assert f"{MAX_RESTARTS + 1} exits, platform.max_restarts {MAX_RESTARTS}" in message
        attempts = (tmp_path / "attempts.txt").read_text().splitlines()
        assert attempts.count("attempt v2-0") == MAX_RESTARTS + 1, attempts
        exits = [e for e in final.events if e.kind == "exited"]
        assert [e.value for e in exits] == [3] * (MAX_RESTARTS + 1)
        budget = MAX_RESTARTS + 1
        assert [e.message.rsplit(" (", 1)[1] for e in exits] == [
            f"exit {n} of {budget} allowed before ready)" for n in range(1, budget + 1)
        ], [e.message for e in exits]
        assert exits[0].message.startswith("v2-0 exited with code 3; last output: "), exits[0].message
        assert await served_version(up) == "v1"


@pytest.mark.parametrize(
    ("command", "expect"),
    [
        ("sh -c 'exec /nonexistent/server --port {port}'", "exited with code 127"),
        ("/nonexistent/server --port {port}", "cannot start '/nonexistent/server'"),
    ],
    ids=["behind a shell", "run directly"],
)
async def test_a_missing_binary_is_rolled_back(tmp_path: Path, command: str, expect: str) -> None:
    up = Up(load_spec(write_spec(tmp_path, command)), tick_s=0.1)
    async with up.running():
        final = await up.rollout("v1", timeout=30)  # an initial deployment that cannot start
        assert (final.phase, final.stable, final.weights) == (Phase.ROLLED_BACK, None, {})
        assert expect in rollback_of(final), rollback_of(final)
