"""`check_monitoring(address, ...)`: ask Prometheus whether it scrapes the service and has its alert rules loaded.

result = await check_monitoring("http://127.0.0.1:9090", jobs=["shop"], alert_rules=["ShopHighErrorRate"])
"""

from __future__ import annotations

from typing import Any

import aiohttp

from greenflag.readiness.base import CheckResult
from greenflag.readiness.monitoring_eval import AlertRule, MonitoringFacts, evaluate_monitoring
from greenflag.readiness.target import TargetOptions

__all__ = ["check_monitoring", "collect_monitoring"]


async def _api(session: aiohttp.ClientSession, url: str, params: dict[str, str]) -> Any:
    async with session.get(url, params=params) as response:
        body = await response.json(content_type=None)
        if response.status != 200 or not isinstance(body, dict) or body.get("status") != "success":
            error = body.get("error") if isinstance(body, dict) else None
            error = error or f"HTTP {response.status}"
            raise ValueError(f"{url}: {error}")
        return body["data"]


async def collect_monitoring(address: str, selectors: list[str], options: TargetOptions) -> MonitoringFacts:
    base = address.rstrip("/")
    connector = aiohttp.TCPConnector(resolver=options.resolver(), ssl=options.ssl_context())
    up: dict[str, list[tuple[str, float]]] = {}
    try:
        async with aiohttp.ClientSession(
            connector=connector, timeout=aiohttp.ClientTimeout(total=options.timeout_s)
        ) as session:
            for selector in selectors:
                data = await _api(session, f"{base}/api/v1/query", {"query": f"up{selector}"})
                up[selector] = [
                    (str(item["metric"].get("instance", "")), float(item["value"][1]))
                    for item in data.get("result", [])
                ]
            data = await _api(session, f"{base}/api/v1/rules", {"type": "alert"})
    except (aiohttp.ClientError, TimeoutError, ValueError, KeyError) as exc:
        return MonitoringFacts(address, up, (), f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
    rules = tuple(
        AlertRule(
            str(rule.get("name", "")),
            str(group.get("name", "")),
            str(rule.get("health", "unknown")),
            str(rule.get("lastError", "")),
            dict(rule.get("annotations") or {}),
        )
        for group in data.get("groups", [])
        for rule in group.get("rules", [])
        if rule.get("type", "alerting") == "alerting"
    )
    return MonitoringFacts(address, up, rules)


async def check_monitoring(
    address: str,
    *,
    jobs: list[str] | None = None,
    selectors: list[str] | None = None,
    alert_rules: list[str] | None = None,
    min_alert_rules: int = 1,
    require_runbook: bool = False,
    options: TargetOptions | None = None,
) -> CheckResult:
    quoted = (job.replace("\\", "\\\\").replace('"', '\\"') for job in jobs or [])
    wanted = [f'{{job="{job}"}}' for job in quoted] + list(selectors or [])
    facts = await collect_monitoring(address, wanted, options or TargetOptions())
    return evaluate_monitoring(
        facts, alert_rules=list(alert_rules or []), min_alert_rules=min_alert_rules, require_runbook=require_runbook
    )
