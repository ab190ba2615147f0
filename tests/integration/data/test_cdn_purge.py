"""HTTP purges against a real Varnish (Debian's package) caching the reference service: the cache keeps serving
the old version's page after the backend changed until greenflag purges it (PURGE for one URL, BAN for a pattern);
a refused, unreachable or silent cache is a failure in one line."""

from __future__ import annotations

import contextlib
import re
import socket
from collections.abc import Iterator

import pytest

from greenflag.data.cdn import purge
from greenflag.spec import PurgeSpec
from tests.integration.data.support import varnish
from tests.support import free_port, greenflag_cmd, http_get, start_process

pytestmark = pytest.mark.timeout(120)


def demo_app(port: int, version: str) -> contextlib.AbstractContextManager[object]:
    cmd = greenflag_cmd("demo-app", "--port", str(port), "--version", version)
    return start_process(cmd, ready_url=f"http://127.0.0.1:{port}/healthz/ready")


def page(url: str) -> tuple[str, str]:
    """(version shown by the page, X-Cache) of a GET through the cache."""
    import urllib.request

    with urllib.request.urlopen(url, timeout=5) as response:
        body = response.read().decode()
        cache = response.headers.get("X-Cache", "")
    found = re.search(r'<span id="version">([^<]+)</span>', body)
    assert found, body[:300]
    return found.group(1), cache


@pytest.fixture(scope="module")
def cache() -> Iterator[tuple[str, int]]:
    backend = free_port()
    with varnish(backend) as url:
        yield url, backend


async def test_the_cache_serves_the_old_page_until_purged_then_the_new_one(cache: tuple[str, int]) -> None:
    url, backend = cache
    with demo_app(backend, "v1"):
        assert page(url + "/")[0] == "v1"
        assert page(url + "/") == ("v1", "HIT")
        assert page(url + "/about")[0] == "v1"
    with demo_app(backend, "v2"):
        assert page(url + "/") == ("v1", "HIT")  # stale: the backend serves v2 now
        assert await purge(PurgeSpec(url=url + "/")) == (True, f"PURGE {url}/: HTTP 200")
        assert page(url + "/") == ("v2", "MISS")
        assert page(url + "/about") == ("v1", "HIT")  # not purged
        ban = PurgeSpec(url=url + "/", method="BAN", headers={"X-Ban-Url": "^/about$"}, expect_status=[200])
        assert await purge(ban) == (True, f"BAN {url}/: HTTP 200")
        assert page(url + "/about") == ("v2", "MISS")


async def test_a_refused_purge_names_the_status_it_got(cache: tuple[str, int]) -> None:
    url, _ = cache
    ok, detail = await purge(PurgeSpec(url=url + "/", method="BAN"))  # no X-Ban-Url: this VCL answers 400
    assert not ok and detail == f"BAN {url}/: HTTP 400, expected 200-299"
    ok, detail = await purge(PurgeSpec(url=url + "/", expect_status=[204]))
    assert not ok and detail == f"PURGE {url}/: HTTP 200, expected 204"
    assert http_get(url + "/healthz/ready")[0] == 503  # Varnish itself answers: its backend is down


async def test_an_unreachable_or_silent_cache_fails_in_one_line() -> None:
    port = free_port()
    ok, detail = await purge(PurgeSpec(url=f"http://127.0.0.1:{port}/"))
    assert not ok and detail.startswith(f"PURGE http://127.0.0.1:{port}/: ClientConnectorError") and "\n" not in detail
    with socket.socket() as silent:  # accepts connections (the kernel does) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        where = f"http://127.0.0.1:{silent.getsockname()[1]}/"
        ok, detail = await purge(PurgeSpec(url=where, timeout="300ms"))
    assert not ok and detail == f"PURGE {where}: no answer within 0.3s"
