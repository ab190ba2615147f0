"""`greenflag drill postgres` against real PostgreSQL servers (Debian's postgresql package), end to end.

Each throwaway drill creates, kills and restores its own small cluster; the --dsn test drills one cluster this
module starts itself. Every drill runs in a subprocess with a deadline, so a hang fails instead of blocking.
"""

from __future__ import annotations

import json
import os
import pwd
import shlex
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import psycopg
import pytest

from greenflag.dr.postgres.cluster import find_bin_dir
from tests.integration.dr.drill_support import event, events, run_drill
from tests.support import free_port

pytestmark = pytest.mark.timeout(180)


def wall(text: str) -> datetime:
    return datetime.fromisoformat(text)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split(") ")[1][0] != "Z"


def test_sync_streaming_drill_restores_every_acknowledged_write(tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    run = run_drill("postgres", "--duration", "2s", "--junit", str(junit), records=tmp_path / "drills")
    data = run.data
    assert run.returncode == 0, data["findings"]
    assert data["ok"] and data["kind"] == "postgres" and data["protection"] == {"method": "stream", "synchronous": True}
    assert data["writes_acknowledged"] >= 20 and data["writes_lost"] == 0
    assert data["writes_recovered"] == data["writes_acknowledged"]
    assert data["objectives"] == {"rto_s": 900.0, "rpo_s": 300.0, "max_writes_lost": 0}
    assert event(data, "protection_ready")["detail"]["sync_state"] == "sync"
    assert event(data, "heartbeat_started")["detail"]["rate_per_s"] >= 50

    # RTO and RPO agree with the timeline's wall clock and with the writer's own ledger, within 1 s
    fault, healthy = event(data, "fault_injected"), event(data, "healthy")
    assert abs(data["rto_s"] - (wall(healthy["at"]) - wall(fault["at"])).total_seconds()) < 1.0
    last_ack = event(data, "heartbeat_stopped")["detail"]["last_acknowledged_at"]
    assert abs(data["rpo_s"] - (wall(fault["at"]) - wall(last_ack)).total_seconds()) < 1.0
    assert event(data, "data_verified")["detail"]["integrity"] == "ok"
    assert event(data, "data_verified")["detail"]["fixture"] == "ok"
    assert [e["t"] for e in data["timeline"]] == sorted(e["t"] for e in data["timeline"])

    # the record on disk is what was printed; JUnit has one passing case per objective
    record = Path(data["records"]["json"])
    assert record.parent == tmp_path / "drills" and json.loads(record.read_text()) == data
    assert Path(data["records"]["markdown"]).read_text().startswith("# Drill record: postgres — PASSED")
    cases = ET.parse(junit).getroot().findall("./testsuite/testcase")
    assert len(cases) == 3 and not any(c.find("failure") is not None for c in cases)

    # nothing left behind: servers stopped, work directory removed
    for name in ("server_started", "restored_server_started"):
        assert not alive(event(data, name)["detail"]["pid"])
    assert not Path(event(data, "restore_started")["detail"]["target"]).exists()


def test_objectives_too_tight_exit_5(tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    run = run_drill("postgres", "--duration", "1s", "--rto", "1ms", "--junit", str(junit), records=tmp_path)
    assert run.returncode == 5
    assert run.stderr.strip().splitlines()[-1].startswith("greenflag: error: the postgres drill failed: RTO")
    failing = [f["id"] for f in run.data["findings"] if f["severity"] in ("high", "critical")]
    assert not run.data["ok"] and failing == ["dr.rto.missed"]
    assert run.data["writes_lost"] == 0  # the restore itself worked: only the objective was missed
    failures = [c.get("name") for c in ET.parse(junit).getroot().iter("testcase") if c.find("failure") is not None]
    assert failures == ["RTO ≤ 1ms"]
    assert len(list(tmp_path.glob("postgres-*.json"))) == 1  # failed drills are recorded too


def test_a_missing_wal_segment_fails_the_drill_with_a_clear_finding(tmp_path: Path) -> None:
    config = tmp_path / "drill.yaml"
    config.write_text("heartbeat:\n  duration: 2s\nfault:\n  remove_wal_segment: true\n")
    run = run_drill("postgres", "-f", str(config), records=tmp_path, timeout=90)
    data = run.data
    assert run.returncode == 5
    removed = event(data, "wal_segment_removed")["detail"]["segment"]
    gap = next(f for f in data["findings"] if f["id"] == "dr.wal.gap")
    assert gap["severity"] == "critical" and removed in gap["message"]
    assert event(data, "wal_checked")["detail"]["missing"] == [removed]
    # PostgreSQL promotes at the hole without complaint: the ledger is what shows the loss
    assert event(data, "healthy") and data["writes_lost"] > 0 and not data["ok"]
    lost = next(f for f in data["findings"] if f["id"] == "dr.writes.lost")
    assert lost["severity"] == "critical"


@pytest.mark.parametrize("method", ["archive", "pgbackrest"])
def test_archive_protections_restore(tmp_path: Path, method: str) -> None:
    if method == "pgbackrest" and shutil.which("pgbackrest") is None:
        pytest.skip("pgbackrest is not installed (scripts/test installs it)")
    config = tmp_path / "drill.yaml"
    config.write_text(f"protection:\n  method: {method}\n  archive_timeout: 1s\nheartbeat:\n  duration: 2s\n")
    # archive_command and restore_command go through a shell: a work directory full of metacharacters
    parent = Path(tempfile.mkdtemp(prefix="gf-archive-"))
    parent.chmod(0o755)
    work = parent / "it's a $work; dir"
    try:
        run = run_drill("postgres", "-f", str(config), "--workdir", str(work), records=tmp_path)
    finally:
        shutil.rmtree(parent, ignore_errors=True)
    data = run.data
    assert run.returncode == 0, data["findings"]
    assert data["protection"] == {"method": method, "archive_timeout_s": 1.0}
    assert data["objectives"]["max_writes_lost"] is None  # archiving loses the unarchived tail by design
    assert event(data, "wal_checked")["detail"]["missing"] == []
    verified = event(data, "data_verified")["detail"]
    # what was lost is exactly the newest writes: the restored rows are a prefix of the acknowledged ones
    assert verified["writes_recovered"] + verified["writes_lost"] == data["writes_acknowledged"]
    if verified["writes_lost"]:
        assert verified["lost_first_seq"] == verified["writes_recovered"] + 1
    assert [e["detail"]["tool"] for e in events(data, "backup_verified")] == (
        ["pg_verifybackup"] if method == "archive" else ["pgbackrest verify"]
    )


@pytest.fixture(scope="module")
def own_cluster() -> Iterator[dict[str, str]]:
    """A cluster the test owns, started with pg_ctl (as the postgres user when root), to drill with --dsn."""
    bin_dir = find_bin_dir()
    base = Path(tempfile.mkdtemp(prefix="gf-dsn-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        entry = pwd.getpwnam("postgres")
        os.chown(base, entry.pw_uid, entry.pw_gid)
        as_user = ["setpriv", f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}", "--init-groups", "--"]
    data, port = base / "data", free_port()
    subprocess.run([*as_user, str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust"],
                   check=True, capture_output=True, cwd=base)  # fmt: skip
    opts = f"-p {port} -k {shlex.quote(str(base))} -c listen_addresses=127.0.0.1"
    subprocess.run([*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(base / "log"), "-o", opts, "-w",
                    "start"], check=True, capture_output=True, cwd=base)  # fmt: skip
    try:
        yield {"dsn": f"host=127.0.0.1 port={port} user=postgres dbname=postgres", "data": str(data)}
    finally:
        subprocess.run([*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True, cwd=base)  # fmt: skip
        shutil.rmtree(base, ignore_errors=True)


def test_dsn_drill_kills_the_users_cluster_moves_its_data_aside_and_keeps_the_restore(
    tmp_path: Path, own_cluster: dict[str, str]
) -> None:
    with psycopg.connect(own_cluster["dsn"], autocommit=True) as conn:
        conn.execute("CREATE TABLE orders (id int PRIMARY KEY)")
        conn.execute("INSERT INTO orders SELECT generate_series(1, 500)")
    work = Path(tempfile.mkdtemp(prefix="gf-dsn-work-"))  # under /tmp: pytest's tmp_path is closed to other users
    work.chmod(0o755)
    run = run_drill("postgres", "--dsn", own_cluster["dsn"], "--duration", "2s", "--keep", "--workdir", str(work),
                    records=tmp_path)  # fmt: skip
    data = run.data
    assert run.returncode == 0, data["findings"]
    assert data["writes_lost"] == 0 and event(data, "drill_started")["detail"]["target"] == "--dsn"
    lost = event(data, "data_lost")["detail"]
    assert lost["action"] == "moved aside" and not Path(own_cluster["data"]).exists()
    assert (Path(lost["moved_to"]) / "PG_VERSION").exists()  # never deleted: the user's files are still there
    assert not alive(event(data, "server_started")["detail"]["pid"])

    kept = data["kept"]
    try:
        with psycopg.connect(kept["restored_dsn"], autocommit=True) as conn:
            assert conn.execute("SELECT count(*) FROM orders").fetchone() == (500,)
            count = conn.execute("SELECT count(*) FROM greenflag_heartbeat").fetchone()
            # every acknowledged write, and those in flight at the fault that committed but were never acknowledged
            verified = event(data, "data_verified")["detail"]
            assert verified["unexpected_rows"] == 0
            assert count == (data["writes_recovered"] + verified["in_doubt_recovered"],)
    finally:
        stopped = subprocess.run(shlex.split(kept["stop"]), capture_output=True, timeout=60)
        assert stopped.returncode == 0, stopped.stderr
        shutil.rmtree(lost["moved_to"], ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)


@pytest.mark.skipif(os.geteuid() != 0, reason="as root the drill runs PostgreSQL as another user")
def test_a_workdir_the_postgres_user_cannot_reach_is_a_usage_error(tmp_path: Path) -> None:
    tmp_path.chmod(0o700)
    out = subprocess.run([sys.executable, "-m", "greenflag", "drill", "postgres", "--workdir", str(tmp_path / "w")],
                         capture_output=True, text=True, timeout=60)  # fmt: skip
    assert out.returncode == 2 and "cannot reach it" in out.stderr and "Traceback" not in out.stderr
