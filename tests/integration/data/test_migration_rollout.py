"""Migrations in a release, on a real PostgreSQL (started with the drill's cluster helpers: initdb and postgres
from Debian's package, as the postgres user when root), with two versions of a tiny service (schema_app.py: v1
reads columns a and b) behind the embedded router, and traffic through it the whole time.

- A compatible migration (v2 adds c): `up` and its check run once, the expand/contract guard sees v1 pass on the
  migrated schema, and v2 is promoted.
- A breaking migration (v2-drop drops b, which v1 reads): the guard sees v1 fail and the release is refused
  before any traffic reaches v2-drop (not even test traffic); `down` runs after the router confirmed all traffic
  on v1, the schema is restored and v1 serves again.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml

from greenflag.config import load_spec
from greenflag.dr.postgres.cluster import Cluster, find_bin_dir
from greenflag.dr.proc import check_reachable, resolve_user
from greenflag.load.engine.paced import PacedLoad
from greenflag.rollout.model import HookOutcome, Phase, Status
from greenflag.rollout.up import Up
from tests.support import free_port, http_get

pytestmark = pytest.mark.timeout(180)

HERE = Path(__file__).resolve().parent
APP, MIGRATE = HERE / "schema_app.py", HERE / "migrate.py"
ROWS = [(1, 10), (2, 20), (3, 30)]


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    """One throwaway PostgreSQL cluster for the module; yields its DSN (TCP on 127.0.0.1)."""
    loop = asyncio.new_event_loop()
    work = Path(tempfile.mkdtemp(prefix="greenflag-migrations-"))
    user = resolve_user("postgres")
    user.mkdir(work, 0o755)
    cluster = Cluster(find_bin_dir(), user, work / "data", free_port(), work / "sock", work / "postgres.log")
    try:
        loop.run_until_complete(check_reachable(user, work))
        loop.run_until_complete(cluster.init(timeout=60))
        loop.run_until_complete(cluster.start(timeout=60))
        yield f"host=127.0.0.1 port={cluster.port} user=postgres dbname=postgres"
    finally:
        loop.run_until_complete(cluster.stop())
        loop.close()
        shutil.rmtree(work, ignore_errors=True)


def reset_schema(dsn: str) -> None:
    with psycopg.connect(dsn) as conn:
        conn.execute("DROP TABLE IF EXISTS items")
        conn.execute("CREATE TABLE items (id serial PRIMARY KEY, a integer NOT NULL, b integer)")
        for a, b in ROWS:
            conn.execute("INSERT INTO items (a, b) VALUES (%s, %s)", (a, b))


def columns(dsn: str) -> list[str]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'items' ORDER BY ordinal_position"
        ).fetchall()
    return [r[0] for r in rows]


def write_spec(tmp: Path, dsn: str, steps: list[dict[str, Any]] | None = None) -> Path:
    migrate = [sys.executable, str(MIGRATE)]
    spec: dict[str, Any] = {
        "service": "items",
        "router": {"listen": f"127.0.0.1:{free_port()}", "admin": f"127.0.0.1:{free_port()}"},
        "platform": {
            "command": f"{sys.executable} {APP} --port {{port}} --version {{version}}",
            "env": {"DATABASE_URL": dsn},
            "stop_grace": "2s",
            "start_timeout": "30s",
        },
        "health": {"readiness": {"http": "/healthz", "interval": "100ms"}},
        "strategy": {
            "canary": {
                "steps": steps or [{"set_weight": 50}, {"pause": {"duration": "1s"}}],
                "abort_scale_down_delay": "500ms",
            }
        },
        "analysis": {"defaults": False},
        "migrations": {
            "up": [*migrate, "up"],
            "down": [*migrate, "down"],
            "check": [*migrate, "check"],
            "env": {"DATABASE_URL": dsn, "MIGRATION_LOG": str(tmp / "migrations.log")},
            "timeout": "60s",
            "guard": {
                "checks": [{"http": "/items", "interval": "200ms", "success_threshold": 2, "failure_threshold": 2}],
                "timeout": "20s",
            },
        },
    }
    path = tmp / "greenflag.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def log_lines(tmp: Path) -> list[str]:
    return (tmp / "migrations.log").read_text().splitlines()


def served(tmp: Path, version: str) -> list[str]:
    """The requests the version's instances answered, from their own logs ("GET /items 200", ...)."""
    lines = []
    for log in sorted((tmp / ".greenflag" / "logs").glob(f"items-{version}-*.log")):
        lines += [line.split(" ", 1)[1] for line in log.read_text().splitlines() if line.startswith(f"{version} ")]
    return lines


def kinds(status: Status) -> list[str]:
    return [e.kind for e in status.events]


async def abort_at_the_pause(up: Up, load: PacedLoad) -> None:
    """`rollout abort` once the canary waits at its pause step and has answered some of the traffic."""
    assert up.controller is not None
    store = up.controller.store
    while True:
        status = store.latest("items")
        paused = status is not None and status.version != "v1" and status.phase is Phase.PAUSED
        if status is not None and paused and load.counts[f"{status.version} 2xx"] >= 5:
            store.post_command(status.rollout_id, "abort")
            return
        await asyncio.sleep(0.05)


async def release(tmp: Path, dsn: str, version: str, *, abort: bool = False) -> tuple[Status, PacedLoad, Up]:
    """Deploy v1, then roll out `version` with traffic through the router (`abort`: a canary that waits at 50 %
    for a promotion and is aborted there); (final status, load, up)."""
    steps = [{"set_weight": 50}, {"pause": {}}] if abort else None
    up = Up(load_spec(write_spec(tmp, dsn, steps)), tick_s=0.1)
    async with up.running():
        first = await up.rollout("v1", timeout=60)
        assert first.promoted, first.events
        load = PacedLoad(up.router_url + "/items", rate=25)
        traffic = asyncio.create_task(load.run(max_requests=5000))
        aborting = asyncio.create_task(abort_at_the_pause(up, load)) if abort else None
        final = await up.rollout(version, timeout=120)
        if aborting is not None:
            await aborting
        after = await asyncio.to_thread(http_get, up.router_url + "/items", 5.0)
        load.stop.set()
        await traffic
        up.after = after  # type: ignore[attr-defined]
    return final, load, up


async def test_a_compatible_migration_passes_the_guard_and_is_promoted(tmp_path: Path, postgres: str) -> None:
    reset_schema(postgres)
    final, load, up = await release(tmp_path, postgres, "v2")
    assert final.promoted, [e.message for e in final.events]
    assert columns(postgres) == ["id", "a", "b", "c"]
    assert log_lines(tmp_path) == [
        "up v1 stable=", "check up v1 stable=", "up v2 stable=v1", "check up v2 stable=v1"]  # fmt: skip
    assert {k: v.outcome for k, v in final.data_steps.items()} == {
        "migration_baseline": HookOutcome.OK, "migrate_up": HookOutcome.OK, "migration_check": HookOutcome.OK,
        "migration_guard": HookOutcome.OK}  # fmt: skip
    order = kinds(final)
    assert order.index("guard") < order.index("test_traffic") < order.index("promoted")
    failed = [k for k in load.counts if "5xx" in k or k == "transport"]
    assert load.counts["v2 2xx"] > 0 and not failed, (load.counts, load.router_errors, final.events[-8:])
    assert up.after[0] == 200 and b'"c": 33' in up.after[1]  # type: ignore[attr-defined]


async def test_a_breaking_migration_is_refused_before_any_traffic_and_undone(tmp_path: Path, postgres: str) -> None:
    reset_schema(postgres)
    final, load, up = await release(tmp_path, postgres, "v2-drop")
    assert final.phase is Phase.ROLLED_BACK and final.stable == "v1"
    (rollback,) = [e for e in final.events if e.kind == "rollback"]
    assert rollback.trigger == "guard checks[0] GET /items"
    assert rollback.message.startswith("rolling back v2-drop: the expand/contract guard: v1 breaks on the migrated "
                                       "schema: checks[0] GET /items failed on v1: Failing after ")  # fmt: skip
    assert "HTTP 500" in rollback.message
    # refused before any traffic: no test traffic, no step; the router never sent v2-drop a request
    before = kinds(final)[: kinds(final).index("rollback")]
    assert "test_traffic" not in before and "step" not in before
    assert not [k for k in load.counts if k.startswith("v2-drop")], load.counts
    assert served(tmp_path, "v2-drop") and {r.split()[1] for r in served(tmp_path, "v2-drop")} == {"/healthz"}
    # down ran once `up` had ended and the router had confirmed all traffic on v1; the schema is as before
    assert log_lines(tmp_path)[2:] == [
        "up v2-drop stable=v1", "down v2-drop stable=v1",
        "check down v2-drop stable=v1"]  # fmt: skip
    assert final.data_steps["migrate_down"].outcome is HookOutcome.OK
    assert columns(postgres) == ["id", "a", "b"]
    with psycopg.connect(postgres) as conn:
        assert conn.execute("SELECT a, b FROM items ORDER BY id").fetchall() == ROWS
    assert up.after[0] == 200 and b'"version": "v1"' in up.after[1]  # type: ignore[attr-defined]
    # what users of v1 saw meanwhile: errors only while the schema was migrated, from `up` to the end of `down`
    assert up.controller is not None
    runs = {run.key: run for run in up.controller.store.hook_runs(final.rollout_id)}
    assert runs["migrate_up"].finished is not None and runs["migrate_down"].finished is not None
    window = runs["migrate_down"].finished - runs["migrate_up"].started
    print(f"v1 answers during the refused release: {dict(load.counts)}; schema migrated for {window:.2f}s")
    assert load.counts["v1 5xx"] <= 25 * (window + 0.5)


async def test_a_canary_rolled_back_with_traffic_runs_down_after_the_router_holds_only_v1(
    tmp_path: Path, postgres: str
) -> None:
    reset_schema(postgres)
    final, load, up = await release(tmp_path, postgres, "v2", abort=True)
    assert final.phase is Phase.ROLLED_BACK and load.counts["v2 2xx"] > 0
    assert [r for r in served(tmp_path, "v2") if r.startswith("GET /items")]
    (rollback,) = [e for e in final.events if e.kind == "rollback"]
    assert up.controller is not None
    runs = {run.key: run for run in up.controller.store.hook_runs(final.rollout_id)}
    read_backs = [
        e for e in final.events if e.kind == "router" and rollback.time <= e.time <= runs["migrate_down"].started
    ]
    assert read_backs and read_backs[-1].message == "router holds v1 100, v2 0 (read back)", read_backs
    assert log_lines(tmp_path)[-2:] == ["down v2 stable=v1", "check down v2 stable=v1"]
    assert columns(postgres) == ["id", "a", "b"]
    failed = [k for k in load.counts if "5xx" in k or k == "transport"]
    assert not failed, (load.counts, load.router_errors, final.events[-8:])
