"""Bad input to `greenflag load run` (the CLI as a subprocess): exit 2 with exactly one line on stderr naming the
option, file or key, before any traffic — a server started for the test receives nothing. And what is not bad
input but only needs encoding (a URL with spaces or non-ASCII text) reaches a strict server as a valid request."""

from __future__ import annotations

import json
import re
import resource
import subprocess
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.integration.load.counting_server import CountingServer
from tests.support import greenflag_cmd

pytestmark = pytest.mark.timeout(120)


def limits(**values: int) -> Callable[[], None]:
    """A preexec_fn setting resource limits in the child (e.g. RLIMIT_AS so no run can take the machine's memory)."""

    def apply() -> None:
        for name, value in values.items():
            resource.setrlimit(getattr(resource, name), (value, value))

    return apply


GIB = 1024**3


def greenflag(args: list[str], *, cwd: Path | None = None, preexec: Callable[[], None] | None = None) -> Any:
    return subprocess.run(
        greenflag_cmd("load", "run", *args),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        preexec_fn=preexec or limits(RLIMIT_AS=6 * GIB),
    )


def refused(server: CountingServer, args: list[str], **kwargs: Any) -> str:
    """Run, expect exit 2 and one stderr line, no traceback, and no request at the server; return the line."""
    proc = greenflag(args, **kwargs)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert server.received == 0, "a request reached the server"
    return lines[0]


def script(tmp_path: Path, body: str, name: str = "journey.py") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    return path


USER = """
from greenflag import User, task

class Visitor(User):
    @task
    async def home(self):
        await self.http.get("/", name="home")
"""


# one case per kind of check (integer, duration, stages, thresholds, spellings); every key with every type of
# value is covered by tests/unit/load/engine/test_options.py and tests/unit/load/scenarios/test_script.py
@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"vus": "ten"}, "options.vus: expected an integer ≥ 1, got 'ten'"),
        ({"duration": True}, "options.duration: expected a duration"),
        ({"stages": [{"duration": "10s", "target": "5"}]}, "options.stages[0].target: expected a number ≥ 0"),
        (
            {"thresholds": {"http_req_duration": [{"threshold": "p(95)<1", "abort_on_fail": "yes"}]}},
            "abort_on_fail: expected true or false, got 'yes'",
        ),
        ({"max_vus": 5, "maxVUs": 5}, "options.maxVUs: given twice (also as max_vus)"),
    ],
)
def test_scenario_options_of_the_wrong_type(
    options: dict[str, Any], expected: str, server: CountingServer, tmp_path: Path
) -> None:
    path = script(tmp_path, f"options = {options!r}\n" + USER)
    line = refused(server, [str(path), "--host", server.url])
    assert line.startswith(f"greenflag: error: {path}:1: ")
    assert expected in line


def test_yaml_options_name_the_line_of_the_key(server: CountingServer, tmp_path: Path) -> None:
    path = tmp_path / "flows.yaml"
    path.write_text(
        "config:\n  options:\n    duration: 1s\n    vus: ten\nflows:\n  - name: a\n    steps: [{get: {url: /}}]\n"
    )
    line = refused(server, [str(path), "--host", server.url])
    assert line.startswith(f"greenflag: error: {path}:4: config.options.vus: expected an integer ≥ 1, got 'ten'")


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--vus", "1000000000"], "--vus"),
        (["--rate", "10", "--max-vus", "1000000000"], "--max-vus"),
        (["--stage", "1s:1000000000"], "--stage"),
    ],
)
def test_vus_that_cannot_fit_in_memory(args: list[str], option: str, server: CountingServer) -> None:
    """Before any VU is made: the estimate per VU times the VUs against the memory available (the child runs
    under a 6 GiB address-space limit, so that a run that did start could not take the machine's memory)."""
    line = refused(server, [server.url, *args, "--duration", "1s"])
    assert line.startswith(f"greenflag: error: {option}: 1000000000 VUs do not fit in memory: about ")
    assert "estimated (16 KiB per VU)" in line
    available = re.search(r", ([\d.]+) GiB available$", line)
    assert available is not None and float(available.group(1)) <= 6.0, line  # the address-space limit counts


def test_vus_in_a_scenario_file_that_cannot_fit(server: CountingServer, tmp_path: Path) -> None:
    path = script(tmp_path, "options = {'vus': 10**9}\n" + USER)
    line = refused(server, [str(path), "--host", server.url])
    assert f"{path}: options.vus: 1000000000 VUs do not fit in memory" in line
    assert "(32 KiB per VU)" in line


def test_the_soft_open_files_limit_is_raised_for_the_vus(server: CountingServer) -> None:
    """300 VUs with a soft limit of 256 open files (hard 4096): the limit is raised, every VU connects."""
    proc = greenflag(
        [server.url, "--vus", "300", "--iterations", "300", "--quiet"],
        preexec=_soft_files(256, 4096),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ERRORS" not in proc.stdout, proc.stdout
    assert server.received == 300


def _soft_files(soft: int, hard: int) -> Callable[[], None]:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        resource.setrlimit(resource.RLIMIT_AS, (6 * GIB, 6 * GIB))

    return apply


def test_vus_beyond_the_open_files_limit(server: CountingServer) -> None:
    line = refused(server, [server.url, "--vus", "100000"], preexec=limits(RLIMIT_NOFILE=1024, RLIMIT_AS=6 * GIB))
    assert line == (
        "greenflag: error: --vus: 100000 VUs need about 100064 open files (one connection each), the limit is "
        "1024 (raise it: ulimit -n, or LimitNOFILE= for a service)"
    )


@pytest.mark.parametrize("char", ["\x1b", "\n"])  # more in tests/unit/load/http/test_head.py
def test_a_url_with_a_control_character_is_refused(char: str, server: CountingServer) -> None:
    url = server.url + f"a{char}b"
    line = refused(server, [url, "--iterations", "1"])
    assert line.startswith("greenflag: error: TARGET: ")
    assert f"control character {char!r} at position" in line


def test_a_url_with_spaces_and_non_ascii_text_arrives_as_a_valid_request_line(server: CountingServer) -> None:
    proc = greenflag([server.url + "a b/ü/x%zz?q=x y&r=<1>", "--iterations", "1", "--quiet"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert server.request_lines == [b"GET /a%20b/%C3%BC/x%25zz?q=x%20y&r=%3C1%3E HTTP/1.1"]
    assert server.malformed == []


def test_a_journey_path_with_spaces_is_encoded_too(server: CountingServer, tmp_path: Path) -> None:
    path = script(tmp_path, USER.replace('self.http.get("/", name="home")', 'self.http.get("/søk?q=a b")'))
    proc = greenflag([str(path), "--host", server.url, "--iterations", "1", "--quiet"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert server.request_lines == [b"GET /s%C3%B8k?q=a%20b HTTP/1.1"]
    assert server.malformed == []


def test_a_journey_path_with_a_control_character_is_a_script_error(server: CountingServer, tmp_path: Path) -> None:
    path = script(tmp_path, USER.replace('self.http.get("/", name="home")', 'self.http.get("/a\\nb")'))
    out = tmp_path / "s.json"
    proc = greenflag([str(path), "--host", server.url, "--iterations", "2", "--quiet", "--summary-json", str(out)])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(out.read_text())["script_errors"] == {"ValueError": 2}
    assert "control character '\\n'" in proc.stderr
    assert server.received == 0


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--header", "X-A: a\r\nX-Injected: 1"], "greenflag: error: --header: header 'X-A' contains a line break"),
        (["--header", "X Space: 1"], "greenflag: error: --header 'X Space: 1': expected 'Name: value'"),
        (["--method", "GET /x"], "greenflag: error: --method 'GET /x': expected an HTTP method"),
    ],
)
def test_request_parts_that_would_make_a_malformed_head(args: list[str], expected: str, server: CountingServer) -> None:
    line = refused(server, [server.url, *args, "--iterations", "1"])
    assert line.startswith(expected)


def test_a_host_with_a_control_character_is_refused(server: CountingServer, tmp_path: Path) -> None:
    path = script(tmp_path, USER)
    line = refused(server, [str(path), "--host", server.url + "\x01"])
    assert line.startswith(f"greenflag: error: {path}: --host: ")


def _summary_targets(tmp_path: Path) -> list[tuple[str, Path]]:
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    return [
        ("under a regular file", a_file / "summary.json"),
        ("a directory", tmp_path),
        # under /proc nothing can be created, not even by root (the path is only tried, nothing is written)
        ("under /proc", Path("/proc/greenflag-test/summary.json")),
    ]


@pytest.mark.parametrize("case", [0, 1, 2])
def test_an_unwritable_summary_json_path_is_refused_before_the_run(
    case: int, server: CountingServer, tmp_path: Path
) -> None:
    _, path = _summary_targets(tmp_path)[case]
    line = refused(server, [server.url, "--iterations", "5", "--summary-json", str(path)])
    assert line.startswith(f"greenflag: error: --summary-json {path}: cannot write: ")


def test_an_existing_summary_is_kept_until_the_new_one_is_complete(server: CountingServer, tmp_path: Path) -> None:
    path = tmp_path / "summary.json"
    path.write_text('{"previous": true}\n')
    proc = greenflag([server.url, "--iterations", "3", "--quiet", "--summary-json", str(path)])
    assert proc.returncode == 0, proc.stderr
    assert json.loads(path.read_text())["metrics"]["http_reqs"]["count"] == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["summary.json"]  # no temporary file left


ENV_USER = """
import os
from greenflag import User, task

GREETING = os.environ["GREETING"]  # read when the file is imported

class Visitor(User):
    @task
    async def home(self):
        await self.http.get(os.environ["PATH_PART"], name=GREETING)
"""


def test_env_sets_the_scenarios_environment(server: CountingServer, tmp_path: Path) -> None:
    path = script(tmp_path, ENV_USER)
    out = tmp_path / "s.json"
    args = [str(path), "--host", server.url, "--iterations", "2", "-e", "GREETING=hello=world"]
    proc = greenflag([*args, "--env", "PATH_PART=/from-env", "--quiet", "--summary-json", str(out)])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert server.request_lines == [b"GET /from-env HTTP/1.1"] * 2
    assert list(json.loads(out.read_text())["by_name"]) == ["hello=world"]


def test_env_in_yaml_templates(server: CountingServer, tmp_path: Path) -> None:
    path = tmp_path / "flows.yaml"
    path.write_text("flows:\n  - name: a\n    steps:\n      - get: {url: '/{{ env.PATH_PART }}'}\n")
    proc = greenflag([str(path), "--host", server.url, "--iterations", "1", "-e", "PATH_PART=yaml", "--quiet"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert server.request_lines == [b"GET /yaml HTTP/1.1"]
    server.reset()
    line = refused(server, [str(path), "--host", server.url, "--iterations", "1"])
    assert line == (
        f"greenflag: error: {path}:4: flows[0].steps[0].get.url: {{{{ env.PATH_PART }}}}: no such environment "
        "variable (set it, or pass -e PATH_PART=VALUE)"
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("NOEQUALS", "greenflag: error: --env 'NOEQUALS': expected KEY=VALUE"),
        ("1ST=x", "greenflag: error: --env '1ST=x': expected KEY=VALUE with KEY a name"),
        ("constant-vus", "(-e is --env, as in k6; the executor is --executor NAME)"),
    ],
)
def test_bad_env(value: str, expected: str, server: CountingServer) -> None:
    line = refused(server, [server.url, "-e", value, "--iterations", "1"])
    assert expected in line
