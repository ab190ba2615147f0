"""Cache invalidation (I/O): HTTP purges (PURGE or BAN requests to caches such as Varnish) and CloudFront
invalidations (CreateInvalidation, then GetInvalidation until it is Completed or its deadline passes).

Every invalidation is idempotent, so a restarted controller simply invalidates again. A CloudFront invalidation
is created with a CallerReference made of the service, the rollout (its id and creation time) and the stage:
CloudFront answers a repeated request with the same reference and paths with the invalidation it already has.
boto3 (the `[aws]` extra) is imported only when `cdn.cloudfront` is configured.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from greenflag.errors import UsageError
from greenflag.rollout.actions import Invalidate
from greenflag.rollout.model import HookOutcome, HookState, Status
from greenflag.spec import CdnSpec, CloudFrontSpec, PurgeSpec

__all__ = ["CdnRunner", "Outcome", "caller_reference", "cloudfront_client", "invalidate_cloudfront", "purge"]

Outcome = tuple[bool, str]  # (ok, what happened, one line)


def _statuses(codes: list[int]) -> str:
    if codes == list(range(codes[0], codes[-1] + 1)) and len(codes) > 2:
        return f"{codes[0]}-{codes[-1]}"
    return ", ".join(str(c) for c in codes)


async def purge(spec: PurgeSpec) -> Outcome:
    """One purge request; ok when the cache answers with an expected status."""
    import aiohttp

    what = f"{spec.method} {spec.url}"
    try:
        timeout = aiohttp.ClientTimeout(total=spec.timeout)
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.request(spec.method, spec.url, headers=spec.headers, allow_redirects=False) as response,
        ):
            await response.read()
            status = response.status
    except TimeoutError:
        return False, f"{what}: no answer within {spec.timeout:g}s"
    except Exception as exc:  # connection refused, bad URL, TLS: one line, never a traceback
        return False, f"{what}: {type(exc).__name__}: {exc}"
    if status not in spec.expect_status:
        return False, f"{what}: HTTP {status}, expected {_statuses(spec.expect_status)}"
    return True, f"{what}: HTTP {status}"


def caller_reference(status: Status, key: str) -> str:
    """The same for every attempt of one rollout's invalidation, so CloudFront does not create it twice; the
    rollout's creation time keeps it unique should a new journal count rollouts from 1 again (CloudFront would
    answer a reused reference with the old invalidation and invalidate nothing)."""
    return f"greenflag-{status.service}-{status.rollout_id}-{int(status.created_at)}-{key}"


def cloudfront_client(spec: CloudFrontSpec) -> Any:
    try:
        import boto3
    except ImportError:
        raise UsageError("cdn.cloudfront needs boto3: pip install 'greenflag[aws]'") from None
    from botocore.config import Config

    config = Config(connect_timeout=10, read_timeout=20, retries={"max_attempts": 3, "mode": "standard"})
    return boto3.client("cloudfront", region_name=spec.region, endpoint_url=spec.endpoint_url, config=config)


def _aws_error(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and "Error" in response:
        error = response["Error"]
        return f"{error.get('Code', type(exc).__name__)}: {error.get('Message', '')}".rstrip(": ")
    return f"{type(exc).__name__}: {exc}"


async def invalidate_cloudfront(
    spec: CloudFrontSpec,
    reference: str,
    *,
    client: Any = None,
    monotonic: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> Outcome:
    """CreateInvalidation for `spec.paths`, then (with `wait`) GetInvalidation every `poll_interval` until its
    status is Completed; not Completed within `timeout` is a failure naming the invalidation and its status."""
    started = monotonic()
    where = f"CloudFront {spec.distribution_id}"
    try:
        if client is None:
            client = await asyncio.to_thread(cloudfront_client, spec)
        batch = {"Paths": {"Quantity": len(spec.paths), "Items": list(spec.paths)}, "CallerReference": reference}
        created = await asyncio.to_thread(
            client.create_invalidation, DistributionId=spec.distribution_id, InvalidationBatch=batch
        )
        invalidation = created["Invalidation"]
        ident, status = str(invalidation["Id"]), str(invalidation["Status"])
        paths = f"{len(spec.paths)} path{'s' if len(spec.paths) != 1 else ''}"
        if not spec.wait:
            return True, f"{where}: invalidation {ident} of {paths} created ({status}; not waited for)"
        while status.lower() != "completed":
            left = spec.timeout - (monotonic() - started)
            if left <= 0:
                return (
                    False,
                    f"{where}: invalidation {ident} still {status} after {spec.timeout:g}s (cdn.cloudfront.timeout)",
                )
            await sleep(min(spec.poll_interval, left))
            got = await asyncio.to_thread(client.get_invalidation, DistributionId=spec.distribution_id, Id=ident)
            status = str(got["Invalidation"]["Status"])
    except UsageError as exc:
        return False, f"{where}: {exc}"
    except Exception as exc:  # botocore's ClientError, connection errors: one line with AWS's code and message
        return False, f"{where}: {_aws_error(exc)}"
    return True, f"{where}: invalidation {ident} of {paths} Completed after {monotonic() - started:.1f}s"


class CdnRunner:
    """Carries out Invalidate actions (every purge and the CloudFront invalidation, side by side) in the background
    and reports each stage's state: started while it runs, then ok or failed with what each part answered."""

    def __init__(self, cdn: CdnSpec, *, cloudfront: Callable[[CloudFrontSpec, str], Awaitable[Outcome]] | None = None):
        self.cdn = cdn
        self._cloudfront = cloudfront or invalidate_cloudfront
        self._tasks: dict[tuple[int, str], asyncio.Task[HookState]] = {}

    def start(self, status: Status, action: Invalidate) -> None:
        key = (status.rollout_id, action.key)
        if key not in self._tasks:
            self._tasks[key] = asyncio.create_task(self._run(caller_reference(status, action.key)))

    async def _run(self, reference: str) -> HookState:
        parts: list[Awaitable[Outcome]] = [purge(p) for p in self.cdn.purge]
        if self.cdn.cloudfront is not None:
            parts.append(self._cloudfront(self.cdn.cloudfront, reference))
        outcomes = await asyncio.gather(*parts)
        ok = all(good for good, _ in outcomes)
        shown = [text for good, text in outcomes if not good] + [text for good, text in outcomes if good]
        return HookState(HookOutcome.OK if ok else HookOutcome.FAILED, "; ".join(shown))

    def states(self, status: Status) -> dict[str, HookState]:
        self._tasks = {k: t for k, t in self._tasks.items() if k[0] == status.rollout_id}
        out: dict[str, HookState] = {}
        for (_, key), task in self._tasks.items():
            if not task.done():
                out[key] = HookState(HookOutcome.STARTED)
            elif task.cancelled():
                out[key] = HookState(HookOutcome.FAILED, "the invalidation was cancelled")
            elif task.exception() is not None:
                out[key] = HookState(HookOutcome.FAILED, f"the invalidation failed: {task.exception()!r}")
            else:
                out[key] = task.result()
        return out

    async def aclose(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)
