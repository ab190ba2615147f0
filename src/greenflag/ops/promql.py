"""PromQL expressions over greenflag's series, shared by the alert rules and the Grafana dashboard (pure).

`sel` is the inside of a label selector (`job=~"$job"`), added to every router series the expression reads.
"""

from __future__ import annotations

import json

from greenflag.ops import metric_names as m

__all__ = ["error_ratio", "join", "latency_quantile", "matcher", "request_rate", "string"]

__pure__ = True


def string(value: str) -> str:
    """A PromQL double-quoted string literal (Go escaping; JSON's is a subset PromQL accepts)."""
    return json.dumps(value)


def matcher(label: str, value: str, op: str = "=") -> str:
    return f"{label}{op}{string(value)}"


def join(*parts: str) -> str:
    """Selector parts joined with commas, empty ones left out."""
    return ",".join(part for part in parts if part)


def _series(name: str, sel: str) -> str:
    return f"{name}{{{sel}}}" if sel else name


def request_rate(window: str, by: str = "job, backend", sel: str = "") -> str:
    return f"sum by ({by}) (rate({_series(m.ROUTER_REQUESTS.sample, sel)}[{window}]))"


def error_ratio(window: str, by: str = "job, backend", sel: str = "") -> str:
    """(5xx responses + transport errors) / requests, per `by` — the router's `error_rate`."""
    five = _series(m.ROUTER_RESPONSES.sample, join('code="5xx"', sel))
    transport = _series(m.ROUTER_TRANSPORT_ERRORS.sample, sel)
    return (
        f"(sum by ({by}) (rate({five}[{window}])) + sum by ({by}) (rate({transport}[{window}])))"
        f" / {request_rate(window, by, sel)}"
    )


def latency_quantile(q: float, window: str, by: str = "job, backend", sel: str = "") -> str:
    """The q-quantile of request duration in seconds, interpolated within the router's histogram buckets."""
    bucket = _series(m.ROUTER_REQUEST_DURATION.bucket, sel)
    return f"histogram_quantile({q:g}, sum by (le, {by}) (rate({bucket}[{window}])))"
