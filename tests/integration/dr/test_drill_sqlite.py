"""`greenflag drill sqlite` end to end, on a database of the reference service (its own store code)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import shutil
import sqlite3
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from greenflag.demo.forms import ContactSubmission
from greenflag.demo.store import Store
from tests.integration.dr.drill_support import event, run_drill

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def service_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reference service's SQLite database (WAL mode), with seeded items and one contact submission."""
    path = tmp_path_factory.mktemp("service") / "the service's db #1 ?100% $HOME.db"  # URI and shell metacharacters

    async def build() -> None:
        store = Store(str(path))
        await store.open(seed_items=200)
        await store.add_contact(ContactSubmission(name="Ada", email="ada@example.com", message="hello"), "v1")
        await store.close()

    asyncio.run(build())
    return path


def digest(path: Path) -> str:
    return hashlib.sha256(
        b"".join(Path(f"{path}{s}").read_bytes() for s in ("", "-wal") if Path(f"{path}{s}").exists())
    ).hexdigest()


def test_sqlite_drill_restores_the_service_database_from_online_backups(tmp_path: Path, service_db: Path) -> None:
    before = digest(service_db)
    run = run_drill("sqlite", "--db", str(service_db), "--duration", "2s", "--interval", "200ms", records=tmp_path)
    data = run.data
    assert run.returncode == 0, data["findings"]
    assert data["ok"] and data["kind"] == "sqlite" and data["protection"] == {"method": "backup", "interval_s": 0.2}
    assert digest(service_db) == before  # --db is read, never written
    verified = event(data, "data_verified")["detail"]
    assert verified["fixture"] == "ok" and verified["tables_checked"] == 2  # contacts and items, row for row
    assert verified["integrity"] == "ok"
    # a backup holds a prefix of the acknowledged writes: only the newest ones can be missing
    assert verified["writes_recovered"] > 0 and verified["unexpected_rows"] == 0
    assert data["writes_recovered"] + data["writes_lost"] == data["writes_acknowledged"]
    if data["writes_lost"]:
        assert verified["lost_first_seq"] == verified["writes_recovered"] + 1
    fault, healthy = event(data, "fault_injected"), event(data, "healthy")
    assert (
        abs(
            data["rto_s"]
            - (datetime.fromisoformat(healthy["at"]) - datetime.fromisoformat(fault["at"])).total_seconds()
        )
        < 1
    )
    newest = datetime.fromisoformat(verified["newest_heartbeat_at"])
    assert abs(data["rpo_s"] - (datetime.fromisoformat(fault["at"]) - newest).total_seconds()) < 1
    assert event(data, "data_lost")["detail"]["removed"][0] == "primary.db"
    assert event(data, "protection_stopped")["detail"]["backups"] >= 2
    assert not Path(event(data, "restore_started")["detail"]["target"]).exists()  # work directory cleaned up


def test_a_backup_interval_longer_than_the_rpo_fails_the_drill(tmp_path: Path) -> None:
    # one backup a minute: only the first, taken as the writer started, exists at the fault 1 s later
    run = run_drill("sqlite", "--duration", "1s", "--interval", "1m", "--rpo", "500ms", records=tmp_path)
    data = run.data
    assert run.returncode == 5
    ids = {f["id"] for f in data["findings"]}
    assert ids & {"dr.rpo.missed", "dr.rpo.unknown"}  # unknown when the writer had not committed before it
    assert data["rpo_s"] is None or data["rpo_s"] >= 1.0  # the fault came a full --duration after that backup
    assert data["writes_lost"] > 0 and event(data, "protection_stopped")["detail"]["backups"] == 1


def test_tight_objectives_exit_5_and_keep_leaves_the_restored_database(tmp_path: Path) -> None:
    prom = tmp_path / "greenflag-drill.prom"
    run = run_drill("sqlite", "--duration", "1s", "--interval", "100ms", "--rto", "0s", "--keep",
                    "--prom-file", str(prom), records=tmp_path)  # fmt: skip
    text = prom.read_text()  # node_exporter textfile: the failed drill is visible to alerting
    assert 'greenflag_drill_ok{kind="sqlite"} 0.0' in text
    assert f'greenflag_drill_writes_lost{{kind="sqlite"}} {float(run.data["writes_lost"])}' in text
    assert "greenflag_drill_rto_seconds" in text and "greenflag_drill_last_run_timestamp_seconds" in text
    assert run.returncode == 5 and "dr.rto.missed" in {f["id"] for f in run.data["findings"]}
    restored = Path(run.data["kept"]["restored_db"])
    try:
        with contextlib.closing(sqlite3.connect(restored)) as conn:
            count = conn.execute("SELECT count(*) FROM greenflag_heartbeat").fetchone()
            assert count == (run.data["writes_recovered"],)
    finally:
        shutil.rmtree(run.data["kept"]["workdir"])
    assert len(list(tmp_path.glob("sqlite-*.json"))) == 1 and len(list(tmp_path.glob("sqlite-*.md"))) == 1


def test_wal_shipping_restores_the_base_and_the_shipped_log(tmp_path: Path, service_db: Path) -> None:
    before = digest(service_db)
    drill_yaml = tmp_path / "drill.yaml"
    drill_yaml.write_text("kind: sqlite\nprotection:\n  method: wal\n  interval: 50ms\nheartbeat: {duration: 2s}\n")
    run = run_drill("sqlite", "-f", str(drill_yaml), "--db", str(service_db), records=tmp_path)
    data = run.data
    assert run.returncode == 0, data["findings"]
    assert data["protection"] == {"method": "wal", "interval_s": 0.05} and digest(service_db) == before
    verified = event(data, "data_verified")["detail"]
    assert (verified["fixture"], verified["integrity"], verified["tables_checked"]) == ("ok", "ok", 2)
    assert verified["unexpected_rows"] == 0 and data["writes_recovered"] > 0
    if data["writes_lost"]:  # only the newest writes, shipped after the last poll, can be missing
        assert verified["lost_first_seq"] == verified["writes_recovered"] + 1
    replayed = event(data, "restore_files")["detail"]
    shipped = event(data, "protection_stopped")["detail"]["wal"]
    checked = event(data, "wal_checked")["detail"]  # the archive was checked for gaps before the replay
    assert checked["missing"] == [] and checked["logs"] == shipped["logs"] and checked["where"].endswith("gen-000001")
    assert event(data, "wal_switched")["detail"]["busy"] is False  # the RESTART checkpoint mid-load
    assert replayed["generation"] == "gen-000001" and replayed["logs_replayed"] == shipped["logs"] >= 2  # followed
    assert replayed["frames_replayed"] == shipped["frames"] > 0  # every shipped frame was replayed by SQLite
    assert shipped["transactions"] >= data["writes_recovered"]  # each heartbeat is one shipped transaction


def test_cli_method_wal_and_a_bad_method(tmp_path: Path) -> None:
    run = run_drill("sqlite", "--method", "wal", "--duration", "1s", records=tmp_path)
    assert run.returncode == 0 and run.data["protection"] == {"method": "wal", "interval_s": 0.1}, run.data
    bad = subprocess.run(
        [sys.executable, "-m", "greenflag", "drill", "sqlite", "--method", "wall"], capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert bad.returncode == 2 and "'wall' is not a sqlite protection; expected one of backup, wal" in bad.stderr


def _archive(work: Path) -> tuple[int, int]:
    """(generations with a base backup, WAL files shipped in all of them) of a WAL drill's archive, as it is now."""
    gens = [g for g in (work / "archive").glob("gen-*") if (g / "base.db").is_file()]
    return len(gens), sum(len(list(g.glob("wal-*.wal"))) for g in gens)


def _wait(what: str, ready: Callable[[], bool], drill: subprocess.Popen[str], deadline_s: float = 30.0) -> None:
    end = time.monotonic() + deadline_s
    while not ready():
        assert drill.poll() is None, f"the drill ended before {what}: {drill.communicate()}"
        assert time.monotonic() < end, f"no {what} within {deadline_s:g}s"
        time.sleep(0.01)


def test_wal_drill_follows_the_checkpoints_of_a_service_writing_beside_it(tmp_path: Path, service_db: Path) -> None:
    """`--method wal` through the CLI while a second connection — the service's own — checkpoints the live log
    under the heartbeat's writes: each RESTART checkpoint makes SQLite write the log again from its start (shipped
    as a new log of the same base, or a new base when the new log overtook the unshipped frames), a TRUNCATE one
    empties it (always a new base: what the old log held past the last shipment cannot be proven). The restore
    from the newest base holds every write committed before the archive took in the last checkpoint."""
    work = tmp_path / "work"
    (tmp_path / "drill.yaml").write_text(
        "kind: sqlite\nprotection: {method: wal, interval: 50ms}\nheartbeat: {rate: 200, duration: 8s}\n"
    )
    drill = subprocess.Popen(
        [sys.executable, "-m", "greenflag", "drill", "sqlite", "-f", str(tmp_path / "drill.yaml"), "--db",
         str(service_db), "--workdir", str(work), "--json", "-q", "--records", str(tmp_path / "records")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        _wait("base backup", lambda: _archive(work)[0] == 1, drill)
        live = work / "primary.db"  # the working copy the heartbeat writes; mode=rw: never created again by us
        conn = sqlite3.connect(f"file:{urllib.parse.quote(str(live))}?mode=rw", uri=True, isolation_level=None,
                               timeout=10.0)  # fmt: skip
        seen = 0
        try:
            for mode in ("RESTART", "RESTART", "TRUNCATE", "RESTART"):
                before, rows = _archive(work), seen

                def written(rows: int = rows) -> bool:  # frames in the log to checkpoint, written after the last one
                    return int(conn.execute("SELECT count(*) FROM greenflag_heartbeat").fetchone()[0]) >= rows + 30

                _wait("heartbeat writes", written, drill)
                busy, _, _ = conn.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()
                assert busy == 0, mode  # the writer holds its lock only per insert; the busy timeout waits it out
                seen = int(conn.execute("SELECT count(*) FROM greenflag_heartbeat").fetchone()[0])
                if mode == "TRUNCATE":
                    assert Path(f"{live}-wal").stat().st_size == 0
                    _wait("a new base after TRUNCATE", lambda before=before: _archive(work)[0] > before[0], drill)
                else:  # the next insert restarts the log: shipped as a new log, or under a new base
                    _wait(f"the log after {mode}", lambda before=before: _archive(work) > before, drill)
        finally:
            conn.close()
        out, err = drill.communicate(timeout=90)
    finally:
        if drill.poll() is None:
            drill.kill()
            drill.wait()
    assert "Traceback" not in err, err
    data = json.loads(out)
    assert drill.returncode == 0, data["findings"]
    shipped = event(data, "protection_stopped")["detail"]["wal"]
    generations, logs = _archive(work)
    assert shipped["generations"] == generations >= 2 and shipped["logs"] == logs >= 4, shipped
    assert shipped["breaks"]  # why each new base was taken (the TRUNCATE's, at least)
    replayed = event(data, "restore_files")["detail"]
    assert replayed["generation"] == f"gen-{generations:06d}" and replayed["logs_replayed"] >= 1  # the newest base
    verified = event(data, "data_verified")["detail"]
    assert (verified["fixture"], verified["integrity"], verified["tables_checked"]) == ("ok", "ok", 2)
    assert verified["unexpected_rows"] == 0
    assert data["writes_recovered"] >= seen  # every write the archive had taken in before the fault came back
    if data["writes_lost"]:
        assert verified["lost_first_seq"] == data["writes_recovered"] + 1  # only the newest writes: no gap


def test_the_readiness_backups_check_reads_the_records_real_drills_write(tmp_path: Path) -> None:
    """The audit trail end to end: `check all`'s backups check reads what `greenflag drill` recorded — a passing WAL
    drill passes it, a newer failed drill fails it naming that record, and another kind of drill is not one."""
    records = tmp_path / "records"

    def check(kind: str) -> tuple[int, dict[str, Any]]:
        spec = {
            "service": "shop",
            "platform": {"command": "greenflag demo-app --port {port} --version {version}"},
            "strategy": {"canary": {"steps": [{"set_weight": 100}]}},
            "readiness": {"backups": [{"drills": {"directory": str(records), "kind": kind, "max_age": "1d"}}]},
        }
        path = tmp_path / "greenflag.yaml"
        path.write_text(json.dumps(spec))  # JSON is YAML
        done = subprocess.run([sys.executable, "-m", "greenflag", "check", "all", "-f", str(path), "--json"],
                              capture_output=True, text=True, timeout=60)  # fmt: skip
        assert "Traceback" not in done.stderr, done.stderr
        return done.returncode, json.loads(done.stdout)

    passed = run_drill("sqlite", "--method", "wal", "--duration", "1s", records=records)
    assert passed.returncode == 0, passed.data["findings"]
    code, report = check("sqlite")
    assert code == 0 and report["ok"] and report["checks"][0]["status"] == "pass", report
    last = report["checks"][0]["evidence"]["last_drill"]
    assert last["ok"] is True and Path(passed.data["records"]["json"]).name in json.dumps(last)

    failed = run_drill("sqlite", "--method", "wal", "--duration", "1s", "--rto", "0s", records=records)
    assert failed.returncode == 5
    code, report = check("sqlite")
    (finding,) = [f for f in report["findings"] if f["id"] == "backups.drill_failed"]
    assert code == 4 and Path(failed.data["records"]["json"]).name in finding["message"], report

    code, report = check("postgres")  # only sqlite drills are recorded there
    assert code == 4 and [f["id"] for f in report["findings"]] == ["backups.no_drill"], report


def test_a_shipped_log_lost_from_the_archive_fails_the_drill_with_the_gap(tmp_path: Path) -> None:
    drill_yaml = tmp_path / "drill.yaml"
    drill_yaml.write_text("kind: sqlite\nprotection: {method: wal, interval: 50ms}\nheartbeat: {duration: 2s}\n"
                          "fault: {remove_wal_segment: true}\n")  # fmt: skip
    run = run_drill("sqlite", "-f", str(drill_yaml), records=tmp_path)
    data = run.data
    assert run.returncode == 5, data["findings"]
    removed = event(data, "wal_segment_removed")["detail"]
    assert removed["segment"] == "wal-000001.wal"  # the log closed by the checkpoint mid-load
    checked = event(data, "wal_checked")["detail"]
    assert checked["missing"] == ["the log the base backup goes with, before wal-000002.wal"] and checked["logs"] == 0
    (gap,) = [f for f in data["findings"] if f["id"] == "dr.wal.gap"]
    assert gap["severity"] == "critical" and "before wal-000002.wal" in gap["message"]
    # the restore stopped at the gap: the base alone, whole and consistent, and only the writes after it lost
    verified = event(data, "data_verified")["detail"]
    assert (verified["integrity"], verified["fixture"], verified["unexpected_rows"]) == ("ok", "ok", 0)
    assert event(data, "restore_files")["detail"]["logs_replayed"] == 0 and data["writes_lost"] > 0
    assert verified["lost_first_seq"] == data["writes_recovered"] + 1  # a prefix: no write after a hole came back
