"""The admin API cannot aim the router anywhere, and does not listen beyond loopback with a weak token.

Link-local, metadata and private addresses appear here only as strings the router must refuse: no test sends
anything to them. Every server binds to 127.0.0.1; the refusals to listen on 0.0.0.0 are checked before anything
binds (the router's `start`, where binding happens, is replaced by one that fails the test).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from greenflag.spec import RouterSpec
from greenflag.traffic.embedded.server import EmbeddedRouter
from tests.integration.traffic.support import TOKEN, make_router
from tests.support import DEMO_PLATFORM_YAML, free_port, greenflag_cmd

pytestmark = pytest.mark.timeout(60)

REFUSED = {  # name → (URL, what the refusal says)
    "aws metadata": ("http://169.254.169.254/latest/meta-data/", "link-local"),
    "ecs task metadata": ("http://169.254.170.2/", "link-local"),
    "link-local v6": ("http://[fe80::1]:8080/", "link-local"),
    "aws metadata v6": ("http://[fd00:ec2::254]/", "metadata"),
    "mapped metadata": ("http://[::ffff:169.254.169.254]/", "link-local"),
    "gcp metadata name": ("http://metadata.google.internal/computeMetadata/v1/", "metadata hostname"),
    "alibaba metadata": ("http://100.100.100.200/", "metadata"),
    "outside the allow-list": ("http://10.20.30.40:8080", "outside the allowed backend addresses"),
    "unspecified": ("http://0.0.0.0:8080", "not a unicast address"),
}

_real_getaddrinfo = socket.getaddrinfo
FAKE_DNS: dict[str, str] = {}


def _fake_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    """A fake resolver for the `.test` names of these tests (no DNS server can run here); others are real."""
    if isinstance(host, str) and host.endswith(".test"):
        if host not in FAKE_DNS:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return _real_getaddrinfo(FAKE_DNS[host], *args, **kwargs)
    return _real_getaddrinfo(host, *args, **kwargs)


@pytest.fixture
async def local() -> AsyncIterator[tuple[EmbeddedRouter, str]]:
    """A router whose one backend is a small aiohttp app on 127.0.0.1."""

    async def hello(_: web.Request) -> web.Response:
        return web.Response(text="local")

    app = web.Application()
    app.router.add_get("/", hello)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    router = await make_router({"blue": url}, {"blue": 100})
    yield router, url
    await router.stop(grace=1.0)
    await runner.cleanup()


async def put_backends(router: EmbeddedRouter, body: dict[str, str]) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with (
        aiohttp.ClientSession() as session,
        session.put(f"{router.admin_url}/backends", json=body, headers=headers) as resp,
    ):
        return resp.status, await resp.json()


@pytest.mark.parametrize("name", sorted(REFUSED))
async def test_put_backends_refuses_link_local_metadata_and_unlisted_addresses(
    local: tuple[EmbeddedRouter, str], name: str
) -> None:
    router, url = local
    target, says = REFUSED[name]
    status, body = await put_backends(router, {"blue": url, "evil": target})
    assert status == 400 and body["error"].startswith("backends.evil: ") and says in body["error"], body
    assert set(router.backend_states()) == {"blue"}  # all or nothing: the set did not change


async def test_a_hostname_is_checked_after_resolution_and_pinned_to_what_was_checked(
    local: tuple[EmbeddedRouter, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    router, url = local
    port = url.rsplit(":", 1)[1]
    monkeypatch.setattr(socket, "getaddrinfo", _fake_getaddrinfo)
    FAKE_DNS.update({"rebind.test": "169.254.169.254", "pinned.test": "127.0.0.1"})
    status, body = await put_backends(router, {"blue": url, "evil": "http://rebind.test/"})
    assert status == 400 and "link-local" in body["error"] and "rebind.test resolves to it" in body["error"]
    status, _ = await put_backends(router, {"blue": url, "pinned": f"http://pinned.test:{port}"})
    assert status == 200
    status, body = await put_backends(router, {"blue": url, "gone": "http://nowhere.test/"})
    assert status == 400 and "cannot resolve 'nowhere.test'" in body["error"]
    FAKE_DNS["pinned.test"] = "127.0.0.2"  # a later answer (nothing listens there) does not move the router
    async with (
        aiohttp.ClientSession() as session,
        session.get(router.url, headers={"X-Greenflag-Route": "pinned"}) as resp,
    ):
        assert resp.status == 200 and await resp.text() == "local"


def test_refused_at_start_from_the_spec_or_the_command_line(tmp_path: Path) -> None:
    """`router serve` with a metadata backend or a bad allow-list: exit 2, one line naming the key, nothing run."""
    listen = f"127.0.0.1:{free_port()}"
    spec = tmp_path / "greenflag.yaml"
    spec.write_text(f"service: s\nrouter:\n  listen: {listen}\n  backends: {{blue: 'http://127.0.0.1:1'}}\n"
                    "  allow_backends: [private, 'not a network']\nstrategy:\n  blue_green: {}\n"
                    + DEMO_PLATFORM_YAML)  # fmt: skip
    cases = [
        (["--backend", "meta=http://169.254.169.254/"], "router.backends.meta: 169.254.169.254 is link-local"),
        (["--backend", "b=http://127.0.0.1:1", "--allow-backend", "10.0.0.0/33"], "--allow-backend '10.0.0.0/33'"),
        (["-f", str(spec)], "greenflag.yaml:5: router.allow_backends[1]: expected an address"),
    ]
    for args, needle in cases:
        done = subprocess.run(
            greenflag_cmd("router", "serve", "--listen", listen, "--no-admin", *args),
            capture_output=True, text=True, timeout=20,
        )  # fmt: skip
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert needle in done.stderr and "Traceback" not in done.stderr
        assert len(done.stderr.splitlines()) == 1 or args[0] == "-f"  # (a spec file's problems are listed below it)


class WouldListen(Exception):
    pass


@pytest.fixture
def no_listening(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    async def start(self: EmbeddedRouter) -> None:
        raise WouldListen(self.admin_address)

    monkeypatch.setattr(EmbeddedRouter, "start", start)
    yield


def serve_in_process(*args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    from greenflag.cli import main

    argv = sys.argv
    sys.argv = ["greenflag", "router", "serve", "--backend", "b=http://127.0.0.1:1", *args]
    try:
        with pytest.raises(SystemExit) as info:
            main()
    finally:
        sys.argv = argv
    return int(info.value.code or 0), capsys.readouterr().err


@pytest.mark.parametrize(
    ("token", "mode", "needle"),
    [("short-token", 0o600, "the admin token is 11 characters"), ("x" * 43, 0o644, "chmod 600")],
)
def test_admin_beyond_loopback_with_a_weak_token_is_refused_before_binding(
    tmp_path: Path, no_listening: None, capsys: pytest.CaptureFixture[str], token: str, mode: int, needle: str
) -> None:
    path = tmp_path / "token"
    path.write_text(token + "\n")
    os.chmod(path, mode)
    code, err = serve_in_process("--admin", f"0.0.0.0:{free_port()}", "--admin-token-file", str(path), capsys=capsys)
    assert code == 2 and needle in err and "router.admin_token_file" in err and len(err.splitlines()) == 1


def test_admin_beyond_loopback_with_a_generated_token_goes_on_to_listen(
    tmp_path: Path, no_listening: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """No token file: one is generated (43 characters, mode 0600), strong enough to listen beyond loopback — the
    router gets as far as `start` (replaced here, so nothing binds)."""
    path = tmp_path / "new-token"
    with pytest.raises(WouldListen):
        serve_in_process("--admin", f"0.0.0.0:{free_port()}", "--admin-token-file", str(path), capsys=capsys)
    assert len(path.read_text().strip()) >= 32 and path.stat().st_mode & 0o077 == 0


def test_admin_beyond_loopback_with_a_strong_private_token_is_allowed(tmp_path: Path, no_listening: None) -> None:
    """Construction passes (it would then listen: `start` is replaced, so nothing binds here)."""
    path = tmp_path / "token"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, b"k" * 43 + b"\n")
    os.close(fd)
    spec = RouterSpec(admin="0.0.0.0:8001", backends={"b": "http://127.0.0.1:1"})
    EmbeddedRouter(spec, admin_token="k" * 43, admin_token_file=path)
    with pytest.raises(ValueError, match=r"router\.admin_token_file: the admin token is 5 characters"):
        EmbeddedRouter(spec, admin_token="k" * 5)
    EmbeddedRouter(spec.model_copy(update={"admin": "127.0.0.1:8001"}), admin_token="k" * 5)  # loopback: fine


async def test_up_refuses_an_exposed_admin_api_with_a_weak_token(tmp_path: Path, no_listening: None) -> None:
    """`greenflag up` builds the same router: a short token for an admin API beyond loopback is a usage error
    (one line, exit 2) before the router would listen."""
    from greenflag.config import load_spec
    from greenflag.errors import UsageError
    from greenflag.rollout.up import Up

    (tmp_path / "token").write_text("short\n")
    (tmp_path / "token").chmod(0o600)
    spec = tmp_path / "greenflag.yaml"
    spec.write_text(
        f"service: s\nstate_dir: {tmp_path / 'state'}\nrouter:\n  admin: 0.0.0.0:{free_port()}\n"
        "  admin_token_file: token\nstrategy:\n  blue_green: {}\n" + DEMO_PLATFORM_YAML
    )
    up = Up(load_spec(spec))
    try:
        with pytest.raises(UsageError, match=r"router\.admin_token_file: the admin token is 5 characters"):
            await up.start()
    finally:
        await up.stop()
