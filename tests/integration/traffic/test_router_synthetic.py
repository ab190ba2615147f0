"""Analysis traffic through the embedded router in front of two real reference-service processes: requests tagged
with the router's key are counted apart and reach the backend they name even while a header route is pinned; a
forged tag is a user's request like any other; the per-second stats export over the admin API and the CLI."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp

from greenflag.analysis.recording import Recording
from greenflag.traffic.base import SyntheticTagging
from greenflag.traffic.embedded.admin_token import synthetic_key
from greenflag.traffic.embedded.driver import EmbeddedRouterClient
from greenflag.traffic.embedded.server import EmbeddedRouter
from tests.integration.traffic.support import TOKEN, version_of
from tests.support import greenflag_cmd


async def get(session: aiohttp.ClientSession, url: str, n: int, headers: dict[str, str]) -> list[str]:
    return [await version_of(session, url, headers) for _ in range(n)]


async def test_tagged_requests_are_counted_apart_and_routed_by_name(router: EmbeddedRouter) -> None:
    header, key = router.synthetic_tag()
    assert (header, key) == ("X-Greenflag-Synthetic", synthetic_key(TOKEN))  # what the admin API's clients derive
    client = EmbeddedRouterClient(router.admin_url or "", TOKEN)
    assert isinstance(client, SyntheticTagging) and client.synthetic_tag() == (header, key)
    before = router.stats(300)
    base = {n: (w.requests, w.part("synthetic").requests) for n, w in before.items()}
    router.set_header_route("green")  # a rollout pins the header route to the version under test
    url = router.url + "/about"
    async with aiohttp.ClientSession() as session:
        tagged_blue = await get(session, url, 5, {"X-Greenflag-Route": "blue", header: key})
        tagged_green = await get(session, url, 5, {"X-Greenflag-Route": "green", header: key})
        test_traffic = await get(session, url, 3, {"X-Greenflag-Route": "blue"})  # untagged: the pin wins
        forged = await get(session, url, 4, {"X-Greenflag-Route": "blue", header: "not-the-key"})
    assert tagged_blue == ["v1"] * 5 and tagged_green == ["v2"] * 5
    assert test_traffic == ["v2"] * 3 and forged == ["v2"] * 4  # a forged tag is neither counted nor routed apart
    after = router.stats(300)
    blue, green = after["blue"], after["green"]
    assert (blue.requests - base["blue"][0], blue.part("synthetic").requests - base["blue"][1]) == (5, 5)
    assert (green.requests - base["green"][0], green.part("synthetic").requests - base["green"][1]) == (12, 5)
    assert green.part("user").requests - (base["green"][0] - base["green"][1]) == 7  # test traffic + forged
    data = await client.stats_json(300)
    assert data["backends"]["green"]["synthetic"]["requests"] == green.part("synthetic").requests
    windows = await client.stats(300)  # the driver's windows keep the split
    assert windows["blue"].synthetic is not None and windows["blue"].part("user").requests == blue.part("user").requests
    await client.aclose()


async def test_stats_export_over_the_admin_api_and_the_cli(router: EmbeddedRouter, tmp_path: Path) -> None:
    header, key = router.synthetic_tag()
    async with aiohttp.ClientSession() as session:
        await get(session, router.url + "/about", 3, {})
        await get(session, router.url + "/about", 2, {"X-Greenflag-Route": "green", header: key})
    client = EmbeddedRouterClient(router.admin_url or "", TOKEN)
    try:
        for _ in range(40):  # the current second is exported once it is over
            lines = await client.stats_export()
            if sum(line["synthetic"]["requests"] for line in lines if line["backend"] == "green") >= 2:
                break
            await asyncio.sleep(0.05)
        rec = Recording.from_records(lines)
        end = rec.end or 0.0
        green = rec.window("green", 0, end)
        assert green.part("synthetic").requests >= 2 and rec.window("blue", 0, end).part("user").requests >= 3
        assert {
            "time",
            "backend",
            "requests",
            "responses",
            "transport_errors",
            "latency_buckets_ms",
            "synthetic",
        } <= set(lines[0])
        newest = max(line["time"] for line in lines)
        assert all(line["time"] >= newest for line in await client.stats_export(newest))  # `since`
    finally:
        await client.aclose()
    token = tmp_path / "token"
    token.write_text(TOKEN + "\n")
    token.chmod(0o600)
    out = tmp_path / "stats.jsonl"
    admin = router.admin_url or ""
    proc = await asyncio.create_subprocess_exec(  # the router runs in this event loop: do not block it
        *greenflag_cmd("router", "stats", "--admin", admin, "--admin-token-file", str(token), "--export", str(out)),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    written = [json.loads(line) for line in out.read_text().splitlines()]
    assert written and f"{len(written)} lines written to {out}" in err.decode()
    async with aiohttp.ClientSession() as session, session.get(admin + "/stats/export") as resp:
        assert resp.status == 401  # the export needs the admin token like every admin endpoint
