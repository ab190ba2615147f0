"""`greenflag runbook` end to end: files written, and every shell block of every runbook run by bash with the
spec's values full of shell metacharacters — nothing injected runs, and each greenflag command receives the
spec's values as single literal arguments. (greenflag, curl, sqlite3 and env are stubs that record their
arguments; nothing is started and no network is used.)"""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import yaml

from tests.clilines import greenflag_commands
from tests.support import DEMO_PLATFORM
from tests.unit.ops.test_runbook import NASTY, sh_blocks

STUBS = """
record() { printf '%s\\0' "$@" >> "$ARGV_LOG"; printf '\\1\\0' >> "$ARGV_LOG"; }
greenflag() { record greenflag "$@"; }
curl() { record curl "$@"; }
sqlite3() { record sqlite3 "$@"; }
env() { record env "$@"; }
"""


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "greenflag", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=60)  # fmt: skip


def write_spec(folder: Path) -> Path:
    folder.mkdir(parents=True)
    spec = {
        "service": "shop-api",
        "router": {"admin_token_file": f"tok {NASTY}", "listen": "127.0.0.1:9100", "admin": "127.0.0.1:9101"},
        "platform": DEMO_PLATFORM,
        "state_dir": f"st {NASTY}",
        "strategy": {"canary": {"steps": [{"set_weight": 20}, {"pause": {}}]}},
        "hooks": {"on_rollback": [f"echo '{NASTY}'"]},
        "health": {"readiness": {"http": "/ready?x=$(touch PWNED4)"}},
    }
    path = folder / "greenflag.yaml"
    path.write_text(yaml.safe_dump(spec))
    (folder / f"tok {NASTY}").write_text("secret\n")
    return path


def test_runbook_commands_run_as_written_without_injection(tmp_path: Path) -> None:
    spec_path = write_spec(tmp_path / "deploy" / NASTY)
    relative = str(spec_path.relative_to(tmp_path))
    result = run("runbook", "-f", relative, "-o", "runbooks", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    pages = {p.name: p.read_text() for p in sorted((tmp_path / "runbooks").iterdir())}
    assert set(pages) == {"README.md", "deployment.md", "rollback.md", "incident-response.md", "dr-restore.md"}
    blocks = [block for text in pages.values() for block in sh_blocks(text)]
    log = tmp_path / "argv.log"
    script = STUBS + "\n".join(blocks)
    done = subprocess.run(["bash", "-c", script], cwd=tmp_path, env={"ARGV_LOG": str(log), "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert not list(tmp_path.rglob("PWNED*")), "a value from the spec was executed by the shell"
    calls = [c.split("\0")[:-1] for c in log.read_text().split("\1\0") if c]
    greenflag_calls = [c for c in calls if c[0] == "greenflag"]
    expected = [argv for block in blocks for argv in greenflag_commands(block)]
    values = {"$VERSION": "v2", "$STABLE=100": "v1=100", "$CANARY=0": "v2=0", "$STABLE": "v1", "$TARGET":
              "example.com:443"}  # fmt: skip
    assert greenflag_calls == [[values.get(w, w) for w in argv] for argv in expected]
    assert all(c[c.index("-f") + 1] == relative for c in greenflag_calls if "-f" in c)
    token = str(Path(relative).parent / f"tok {NASTY}")
    assert [c[c.index("--admin-token-file") + 1] for c in greenflag_calls if "--admin-token-file" in c] == [token]
    probes = [c for c in greenflag_calls if c[1] == "probe"]
    assert probes and all(c[2] == "http://127.0.0.1:9100/ready?x=$(touch PWNED4)" for c in probes)
    curls = [c for c in calls if c[0] == "curl"]
    assert curls and all("Authorization: Bearer secret" in c for c in curls)  # the token file was read, as meant
    hooks = [c for c in calls if c[0] == "env"]
    assert hooks and hooks[0][-3:] == ["sh", "-c", f"echo '{NASTY}'"]
    assert "GREENFLAG_VERSION=v2" in hooks[0] and "GREENFLAG_STABLE=v1" in hooks[0]


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    missing = run("runbook", "-f", "nope.yaml", "-o", "out", cwd=tmp_path)
    assert missing.returncode == 2 and missing.stderr.strip().count("\n") == 0 and "nope.yaml" in missing.stderr
    spec = write_spec(tmp_path / "d")
    (tmp_path / "file").write_text("")
    blocked = run("runbook", "-f", str(spec), "-o", "file/sub", cwd=tmp_path)
    assert blocked.returncode == 2 and blocked.stderr.strip().count("\n") == 0 and "-o file/sub" in blocked.stderr
    assert shlex.split(blocked.stderr)[0] == "greenflag:"
