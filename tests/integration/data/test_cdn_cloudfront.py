"""CloudFront invalidations against moto's AWS server on 127.0.0.1: CreateInvalidation for the configured paths
and the wait until it is Completed. moto completes every invalidation at once, so the waiting itself (InProgress
answers, the deadline) is shown by rewriting moto's GetInvalidation answers in botocore's after-call hook — the
request still goes to moto over HTTP; only the status it reports is changed."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from greenflag.data.cdn import caller_reference, cloudfront_client, invalidate_cloudfront
from greenflag.rollout.model import Status
from greenflag.spec import CloudFrontSpec
from tests.servers import AWS_TEST_ENV, moto_server
from tests.support import free_port

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def moto() -> Iterator[str]:
    saved = {k: os.environ.get(k) for k in AWS_TEST_ENV}
    os.environ.update(AWS_TEST_ENV)
    try:
        with moto_server() as endpoint:
            yield endpoint
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="module")
def distribution(moto: str) -> str:
    client = cloudfront_client(CloudFrontSpec(distribution_id="X", endpoint_url=moto))
    origin = {"Id": "app", "DomainName": "app.example.test", "CustomOriginConfig": {
        "HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "http-only"}}  # fmt: skip
    config = {
        "CallerReference": "greenflag-test",
        "Comment": "greenflag test",
        "Enabled": True,
        "Origins": {"Quantity": 1, "Items": [origin]},
        "DefaultCacheBehavior": {"TargetOriginId": "app", "ViewerProtocolPolicy": "allow-all", "MinTTL": 0},
    }
    return str(client.create_distribution(DistributionConfig=config)["Distribution"]["Id"])


def spec(moto: str, distribution: str, **extra: Any) -> CloudFrontSpec:
    return CloudFrontSpec(distribution_id=distribution, endpoint_url=moto, poll_interval="50ms", **extra)


def reporting(moto: str, statuses: list[str]) -> tuple[Any, list[str]]:
    """A client whose GetInvalidation answers report `statuses` in turn (then the last one forever)."""
    client = cloudfront_client(CloudFrontSpec(distribution_id="X", endpoint_url=moto))
    seen: list[str] = []

    def rewrite(parsed: dict[str, Any], **_: Any) -> None:
        seen.append(parsed["Invalidation"]["Status"])
        parsed["Invalidation"]["Status"] = statuses[min(len(seen) - 1, len(statuses) - 1)]

    client.meta.events.register("after-call.cloudfront.GetInvalidation", rewrite)
    client.meta.events.register("after-call.cloudfront.CreateInvalidation", lambda parsed, **_: parsed[
        "Invalidation"].update(Status="InProgress"))  # fmt: skip
    return client, seen


async def test_creates_the_invalidation_of_the_paths_and_it_completes(moto: str, distribution: str) -> None:
    paths = ["/index.html", "/assets/*"]
    rollout = Status(rollout_id=4, service="shop", version="v2", stable="v1", strategy="canary", created_at=1.8e9)
    reference = caller_reference(rollout, "cdn_promote")
    ok, detail = await invalidate_cloudfront(spec(moto, distribution, paths=paths), reference)
    assert ok, detail
    assert detail.startswith(f"CloudFront {distribution}: invalidation ") and " of 2 paths Completed after " in detail
    client = cloudfront_client(spec(moto, distribution))
    items = client.list_invalidations(DistributionId=distribution)["InvalidationList"]["Items"]
    ident = detail.split("invalidation ")[1].split()[0]
    (mine,) = [i for i in items if i["Id"] == ident]
    batch = client.get_invalidation(DistributionId=distribution, Id=mine["Id"])["Invalidation"]["InvalidationBatch"]
    assert batch["Paths"]["Items"] == paths and batch["CallerReference"] == "greenflag-shop-4-1800000000-cdn_promote"


async def test_waits_through_in_progress_until_completed(moto: str, distribution: str) -> None:
    client, seen = reporting(moto, ["InProgress", "InProgress", "Completed"])
    ok, detail = await invalidate_cloudfront(spec(moto, distribution), "ref-wait", client=client)
    assert ok and "Completed" in detail
    assert len(seen) == 3  # polled until it said Completed, not longer


async def test_an_invalidation_still_in_progress_at_the_deadline_fails(moto: str, distribution: str) -> None:
    client, seen = reporting(moto, ["InProgress"])
    ok, detail = await invalidate_cloudfront(spec(moto, distribution, timeout="400ms"), "ref-late", client=client)
    assert not ok
    assert detail.endswith("still InProgress after 0.4s (cdn.cloudfront.timeout)") and seen


async def test_without_wait_it_only_creates(moto: str, distribution: str) -> None:
    client, seen = reporting(moto, ["InProgress"])
    ok, detail = await invalidate_cloudfront(spec(moto, distribution, wait=False), "ref-nowait", client=client)
    assert ok and detail.endswith("created (InProgress; not waited for)") and seen == []


async def test_an_unknown_distribution_or_endpoint_fails_in_one_line(moto: str) -> None:
    ok, detail = await invalidate_cloudfront(spec(moto, "E0000NOSUCH"), "ref-none")
    assert not ok and detail.startswith("CloudFront E0000NOSUCH: NoSuchDistribution") and "\n" not in detail
    nowhere = CloudFrontSpec(distribution_id="E1", endpoint_url=f"http://127.0.0.1:{free_port()}")
    ok, detail = await invalidate_cloudfront(nowhere, "ref-nowhere")
    assert not ok and detail.startswith("CloudFront E1: EndpointConnectionError") and "\n" not in detail
