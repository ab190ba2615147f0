"""Cache invalidation in a release: a real Varnish (Debian's package) caches the reference service
(`greenflag demo-app`, whose pages show their version) behind the embedded router, and moto's server on
127.0.0.1 stands for CloudFront. After a promotion and after a rollback the cache serves the version that now
takes the traffic — checked through Varnish — while a page no purge covers still shows the cache would have kept
the old one."""

from __future__ import annotations

import asyncio
import os
import re
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from greenflag.config import load_spec
from greenflag.data.cdn import cloudfront_client
from greenflag.rollout.model import HookOutcome, Phase
from greenflag.rollout.up import Up
from greenflag.spec import CloudFrontSpec
from tests.integration.data.support import varnish
from tests.servers import AWS_TEST_ENV, moto_server
from tests.support import free_port

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def aws() -> Iterator[tuple[str, str]]:
    """moto's server and a CloudFront distribution in it: (endpoint, distribution id)."""
    saved = {k: os.environ.get(k) for k in AWS_TEST_ENV}
    os.environ.update(AWS_TEST_ENV)
    try:
        with moto_server() as endpoint:
            client = cloudfront_client(CloudFrontSpec(distribution_id="X", endpoint_url=endpoint))
            origin = {"Id": "web", "DomainName": "web.example.test", "CustomOriginConfig": {
                "HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "http-only"}}  # fmt: skip
            config = {"CallerReference": "web", "Comment": "", "Enabled": True,
                      "Origins": {"Quantity": 1, "Items": [origin]},
                      "DefaultCacheBehavior": {"TargetOriginId": "web", "ViewerProtocolPolicy": "allow-all",
                                               "MinTTL": 0}}  # fmt: skip
            yield endpoint, client.create_distribution(DistributionConfig=config)["Distribution"]["Id"]
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="module")
def cache() -> Iterator[tuple[str, int]]:
    """Varnish in front of the router's port: (Varnish URL, router port)."""
    router_port = free_port()
    with varnish(router_port) as url:
        yield url, router_port


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        found = re.search(r'<span id="version">([^<]+)</span>', response.read().decode())
    assert found
    return found.group(1)


async def page(url: str) -> str:
    """The version a page shows, fetched through the cache (in a thread: the router runs in this event loop)."""
    return await asyncio.to_thread(fetch, url)


def write_spec(tmp: Path, cache_url: str, router_port: int, endpoint: str, distribution: str) -> Path:
    spec: dict[str, Any] = {
        "service": "web",
        "router": {"listen": f"127.0.0.1:{router_port}", "admin": f"127.0.0.1:{free_port()}"},
        "platform": {
            "command": f"{sys.executable} -m greenflag demo-app --port {{port}} --version {{version}}",
            "stop_grace": "2s",
        },
        "health": {"readiness": {"http": "/healthz/ready", "interval": "100ms"}},
        "strategy": {"canary": {"steps": [{"set_weight": 100}, {"pause": {}}], "abort_scale_down_delay": "300ms"}},
        "analysis": {"defaults": False},
        "cdn": {
            "delay": "300ms",
            "purge": [
                {"url": f"{cache_url}/", "method": "PURGE"},
                {
                    "url": f"{cache_url}/",
                    "method": "BAN",
                    "headers": {"X-Ban-Url": "^/pricing"},
                    "expect_status": [200],
                },
            ],
            "cloudfront": {
                "distribution_id": distribution,
                "endpoint_url": endpoint,
                "poll_interval": "100ms",
                "paths": ["/", "/pricing*"],
            },
        },
    }
    path = tmp / "greenflag.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


async def at_pause(up: Up, version: str) -> int:
    assert up.controller is not None
    while True:
        status = up.controller.store.latest("web")
        if status is not None and status.version == version and status.phase is Phase.PAUSED:
            return status.rollout_id
        await asyncio.sleep(0.05)


def invalidations(endpoint: str, distribution: str) -> list[str]:
    client = cloudfront_client(CloudFrontSpec(distribution_id=distribution, endpoint_url=endpoint))
    items = client.list_invalidations(DistributionId=distribution)["InvalidationList"].get("Items", [])
    return sorted(
        client.get_invalidation(DistributionId=distribution, Id=i["Id"])["Invalidation"]["InvalidationBatch"][
            "CallerReference"] for i in items)  # fmt: skip


async def test_after_promotion_and_after_rollback_the_cache_serves_the_serving_version(
    tmp_path: Path, cache: tuple[str, int], aws: tuple[str, str]
) -> None:
    cache_url, router_port = cache
    endpoint, distribution = aws
    up = Up(load_spec(write_spec(tmp_path, cache_url, router_port, endpoint, distribution)), tick_s=0.1)
    async with up.running():
        first = await up.rollout("v1", timeout=60)
        assert first.promoted and first.data_steps["cdn_promote"].outcome is HookOutcome.OK
        for path in ("/", "/pricing", "/about"):
            assert await page(cache_url + path) == "v1"  # cached now

        # promotion: v2 takes 100 %, waits for `promote`; then the caches are invalidated
        rollout = asyncio.create_task(up.rollout("v2", timeout=60))
        rollout_id = await at_pause(up, "v2")
        assert await page(cache_url + "/") == "v1"  # the cache still answers with v1's page
        assert up.controller is not None
        up.controller.store.post_command(rollout_id, "promote")
        promoted = await rollout
        assert promoted.promoted
        state = promoted.data_steps["cdn_promote"]
        assert state.outcome is HookOutcome.OK, state.detail
        assert f"PURGE {cache_url}/: HTTP 200" in state.detail and f"BAN {cache_url}/: HTTP 200" in state.detail
        assert "Completed" in state.detail
        assert await page(cache_url + "/") == "v2" and await page(cache_url + "/pricing") == "v2"
        assert await page(cache_url + "/about") == "v1"  # no purge covers it: the cache would have kept them all

        # rollback: v3 takes 100 % and is cached, then aborted: back on v2, the cache serves v2 again
        rollout = asyncio.create_task(up.rollout("v3", timeout=60))
        rollout_id = await at_pause(up, "v3")
        assert await page(cache_url + "/pricing?from=canary") == "v3"
        up.controller.store.post_command(rollout_id, "abort")
        rolled_back = await rollout
        assert rolled_back.phase is Phase.ROLLED_BACK and rolled_back.stable == "v2"
        assert rolled_back.data_steps["cdn_rollback"].outcome is HookOutcome.OK
        assert await page(cache_url + "/pricing?from=canary") == "v2" and await page(cache_url + "/") == "v2"
    references = [
        f"greenflag-web-{first.rollout_id}-{int(first.created_at)}-cdn_promote",  # the first deployment too
        f"greenflag-web-{promoted.rollout_id}-{int(promoted.created_at)}-cdn_promote",
        f"greenflag-web-{rolled_back.rollout_id}-{int(rolled_back.created_at)}-cdn_rollback",
    ]
    assert invalidations(endpoint, distribution) == sorted(references)
