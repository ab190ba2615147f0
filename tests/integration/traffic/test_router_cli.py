"""`greenflag router serve | set-weights | status` end to end, and their one-line errors (exit 2)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from greenflag.demo.process import DemoAppProcess
from tests.support import DEMO_PLATFORM_YAML, free_port, greenflag_cmd, http_get, start_process

pytestmark = pytest.mark.timeout(120)


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(greenflag_cmd(*args), capture_output=True, text=True, timeout=60, cwd=cwd)


@pytest.fixture
def served(backends: dict[str, DemoAppProcess], tmp_path: Path) -> Iterator[tuple[Path, str]]:
    listen, admin = free_port(), free_port()
    spec = tmp_path / "greenflag.yaml"
    spec.write_text(
        f"""service: shop
router:
  listen: 127.0.0.1:{listen}
  admin: 127.0.0.1:{admin}
  admin_token_file: state/token
  backends:
    blue: {backends["blue"].url}
    green: {backends["green"].url}
  weights: {{blue: 100, green: 0}}
platform:
  command: "web --port {{port}}"
strategy:
  blue_green: {{}}
"""
    )

    def ready() -> bool:
        token = (tmp_path / "state" / "token").read_text().strip()
        return http_get(f"http://127.0.0.1:{admin}/healthz", headers={"Authorization": f"Bearer {token}"})[0] == 200

    with start_process(greenflag_cmd("router", "serve", "-f", str(spec)), ready=ready):
        yield spec, f"http://127.0.0.1:{listen}"


def test_serve_set_weights_status(served: tuple[Path, str]) -> None:
    spec, url = served
    assert (spec.parent / "state" / "token").stat().st_mode & 0o777 == 0o600
    assert http_get(url + "/version")[1].count(b'"v1"') == 1
    done = run("router", "set-weights", "blue=0", "green=100", "-f", str(spec))
    assert done.returncode == 0, done.stderr
    assert "blue=0 green=100" in done.stdout
    assert b'"v2"' in http_get(url + "/version")[1]
    admin = json.loads(run("router", "status", "--json", "-f", str(spec)).stdout)
    assert admin["weights"] == {"blue": 0, "green": 100}
    assert admin["backends"]["blue"]["state"] == "drained"
    assert admin["stats"]["green"]["requests"] == 1
    text = run("router", "status", "-f", str(spec))
    assert text.returncode == 0 and "green" in text.stdout and "active" in text.stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("router", "serve", "--backend", "blue"), "--backend 'blue': expected NAME=VALUE"),
        (("router", "serve", "--backend", "blue=ftp://x"), "expected http://HOST:PORT"),
        (("router", "serve", "--backend", "blue=http://127.0.0.1:1", "--weight", "blue=x"), "--weight"),
        (("router", "serve", "--backend", "b=http://127.0.0.1:1", "--weight", "c=1"), "unknown backend 'c'"),
        (("router", "serve", "--listen", "nope:xx", "--backend", "b=http://127.0.0.1:1"), "--listen"),
        (("router", "set-weights", "blue=1"), "say which router"),
        (("router", "set-weights", "blue=1", "--admin", "http://127.0.0.1:1"), "--admin-token-file"),
        (("router", "status", "-f", "/nonexistent/greenflag.yaml"), "no such file"),
    ],
)
def test_bad_input_is_one_line_exit_2(args: tuple[str, ...], needle: str, tmp_path: Path) -> None:
    done = run(*args, "--no-admin") if args[1] == "serve" else run(*args)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert needle in done.stderr
    assert "Traceback" not in done.stderr


def test_unreachable_admin_is_a_clear_error(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("x\n")
    done = run("router", "status", "--admin", f"http://127.0.0.1:{free_port()}", "--admin-token-file", str(token))
    assert done.returncode == 2 and "unreachable" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("router", "args", "needle"),
    [
        ("{kind: haproxy, socket: SOCK, backend: app, servers: {blue: s_blue}, listen: 'LISTEN'}",
         ("router", "serve"), "router.kind is 'haproxy': `router serve` runs only the embedded router"),
        ("{kind: haproxy, socket: SOCK, backend: app, servers: {blue: s_blue}, listen: 'LISTEN'}",
         ("up",), "router (haproxy): cannot reach the router"),
        ("{kind: alb, region: eu-west-1, listener_arn: a, target_groups: {blue: a}}",
         ("up",), "router.listener_arn: expected an ALB listener ARN"),
        ("{kind: kubernetes, namespace: shop, httproute: web, kubeconfig: SOCK}",
         ("router", "status"), "cannot load the Kubernetes configuration"),
    ],
)  # fmt: skip
def test_a_kind_that_is_not_embedded_never_starts_the_embedded_router(
    router: str, args: tuple[str, ...], needle: str, tmp_path: Path
) -> None:
    listen = f"127.0.0.1:{free_port()}"
    spec = tmp_path / "greenflag.yaml"
    router = router.replace("SOCK", str(tmp_path / "none.sock")).replace("LISTEN", listen)
    spec.write_text(f"service: shop\nrouter: {router}\nstrategy: {{canary: {{steps: [{{set_weight: 10}}]}}}}\n"
                    + DEMO_PLATFORM_YAML)
    done = run(*args, "-f", str(spec))
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert needle in done.stderr and "Traceback" not in done.stderr
    assert "listening" not in done.stdout  # nothing was served in the other router's place
