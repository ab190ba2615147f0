"""The end-of-test summary: the `--summary-json` document (docs/load-testing.md, "Summary JSON") and a k6-like
text table."""

from __future__ import annotations

import datetime as dt
from typing import Any

from greenflag import __version__
from greenflag.hdr import Histogram
from greenflag.load.metrics.series import HTTP_TRENDS, Registry
from greenflag.load.metrics.snapshot import Snapshot
from greenflag.load.metrics.thresholds import Outcome

__all__ = ["build_summary", "render_text", "warnings"]

_CUSTOM_TRENDS = ("sse_time_to_first_event", "sse_event_gap", "sse_stream_duration")
_CUSTOM_COUNTERS = ("sse_events", "sse_reconnects")


def trend_stats(hist: Histogram) -> dict[str, float]:
    if hist.count == 0:
        return {"count": 0, "min": 0, "avg": 0, "med": 0, "p90": 0, "p95": 0, "p99": 0, "max": 0}

    def ms(value_us: float) -> float:
        return round(value_us / 1000.0, 3)

    return {
        "count": hist.count,
        "min": ms(hist.min),
        "avg": ms(hist.mean),
        "med": ms(hist.percentile(50)),
        "p90": ms(hist.percentile(90)),
        "p95": ms(hist.percentile(95)),
        "p99": ms(hist.percentile(99)),
        "max": ms(hist.max),
    }


def _by_name(registry: Registry, elapsed: float) -> dict[str, Any]:
    names = sorted({s.name for s in registry.series.values()})
    out = {}
    for name in names:
        tags = (("name", name),)
        totals = registry.http_totals(tags)
        out[name] = {
            "http_reqs": {"count": totals["reqs"], "rate": round(totals["reqs"] / elapsed, 3)},
            "http_req_failed": {"rate": totals["failed"] / totals["reqs"] if totals["reqs"] else 0.0},
            "http_req_duration": trend_stats(registry.http_trend("http_req_duration", tags)),
            "http_req_latency": trend_stats(registry.http_trend("http_req_latency", tags)),
            "status": {
                str(s.status): s.reqs for s in sorted(registry.matching(tags), key=lambda s: s.status) if s.reqs
            },
        }
    return out


def _by_step(registry: Registry, elapsed: float) -> dict[str, Any]:
    """Per `step` tag (journeys' `with self.step(...)`): step_duration and the step's HTTP requests."""
    steps = sorted({value for name, tags in registry.trends for key, value in tags if key == "step"})
    out = {}
    for step in steps:
        tags = (("step", step),)
        totals = registry.http_totals(tags)
        hist = registry.custom_trend("step_duration", tags)
        out[step] = {
            "step_duration": trend_stats(hist) if hist is not None else trend_stats(Histogram()),
            "http_reqs": {"count": totals["reqs"], "rate": round(totals["reqs"] / elapsed, 3)},
            "http_req_failed": {"rate": totals["failed"] / totals["reqs"] if totals["reqs"] else 0.0},
            "http_req_duration": trend_stats(registry.http_trend("http_req_duration", tags)),
        }
    return out


def build_summary(
    registry: Registry,
    *,
    started_at: dt.datetime,
    elapsed_s: float,
    outcomes: list[Outcome],
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    elapsed = max(elapsed_s, 1e-9)
    totals = registry.http_totals()
    metrics: dict[str, Any] = {
        "http_reqs": {"count": totals["reqs"], "rate": round(totals["reqs"] / elapsed, 3)},
        "http_req_failed": {
            "rate": totals["failed"] / totals["reqs"] if totals["reqs"] else 0.0,
            "fails": totals["failed"],
            "passes": totals["reqs"] - totals["failed"],
        },
    }
    for name in HTTP_TRENDS:
        metrics[name] = trend_stats(registry.http_trend(name))
    metrics["iterations"] = {"count": registry.iterations, "rate": round(registry.iterations / elapsed, 3)}
    metrics["iteration_duration"] = trend_stats(registry.iteration_duration)
    metrics["dropped_iterations"] = {"count": registry.dropped_iterations}
    metrics["interrupted_iterations"] = {"count": registry.interrupted_iterations}
    metrics["data_sent"] = {"count": totals["bytes_sent"], "rate": round(totals["bytes_sent"] / elapsed, 1)}
    metrics["data_received"] = {"count": totals["bytes_recv"], "rate": round(totals["bytes_recv"] / elapsed, 1)}
    metrics["vus"] = {"value": registry.vus}
    metrics["vus_max"] = {"value": registry.vus_max}
    snapshot = Snapshot(registry, elapsed)
    custom_trends = sorted({name for name, _ in registry.trends}, key=lambda n: (n not in _CUSTOM_TRENDS, n))
    for name in custom_trends:
        hist = snapshot.trend(name)
        if hist is not None and hist.count:
            metrics[name] = trend_stats(hist)
    custom_counters = sorted({name for name, _ in registry.counters}, key=lambda n: (n not in _CUSTOM_COUNTERS, n))
    for name in custom_counters:
        count = snapshot.counter(name)
        if count is not None:
            metrics[name] = {"count": count, "rate": round(count / elapsed, 3)}
    thresholds: dict[str, list[dict[str, Any]]] = {}
    for outcome in outcomes:
        entry = {"expr": outcome.threshold.source, "ok": outcome.ok, "value": outcome.value}
        thresholds.setdefault(outcome.threshold.key, []).append(entry)
    summary: dict[str, Any] = {
        "tool": "greenflag",
        "version": __version__,
        "ok": all(o.ok for o in outcomes),
        "started_at": started_at.isoformat(),
        "duration_s": round(elapsed_s, 3),
        "metrics": metrics,
        "thresholds": thresholds,
        "checks": {name: {"passes": p, "fails": f} for name, (p, f) in registry.checks.items()},
        "errors": registry.errors_by_class(),
        "by_name": _by_name(registry, elapsed),
    }
    steps = _by_step(registry, elapsed)
    if steps:
        summary["by_step"] = steps
    if registry.script_errors:
        summary["script_errors"] = dict(registry.script_errors)
    found = warnings(registry)
    summary["warnings"] = found
    summary["latency_lower_bound"] = any(w["id"] == "dropped_iterations" for w in found)
    summary.update(extra or {})
    return summary


def warnings(registry: Registry) -> list[dict[str, Any]]:
    """What makes the numbers less than they seem, each with an id, a count and a one-line message."""
    out: list[dict[str, Any]] = []
    dropped = registry.dropped_iterations
    if dropped:
        out.append(
            {
                "id": "dropped_iterations",
                "count": dropped,
                "message": f"{dropped} iteration{'s' if dropped != 1 else ''} dropped: all {registry.vus_max} VUs "
                "were busy (raise --max-vus, or the service cannot keep up with the rate); http_req_latency from "
                "the schedule is a lower bound, since dropped iterations sent nothing and their wait is not in it",
            }
        )
    interrupted = registry.interrupted_iterations
    if interrupted:
        out.append(
            {
                "id": "interrupted_iterations",
                "count": interrupted,
                "message": f"{interrupted} iteration{'s' if interrupted != 1 else ''} still running when the "
                "graceful stop ran out were interrupted (their requests in flight count as errors of class "
                "interrupted; raise --graceful-stop to let them finish)",
            }
        )
    return out


def _fmt_ms(value: float) -> str:
    if value >= 1000:
        return f"{value / 1000:.2f}s"
    if value >= 1:
        return f"{value:.2f}ms"
    return f"{value * 1000:.0f}µs"


def _fmt_bytes(value: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"  # pragma: no cover


def _trend_line(stats: dict[str, float]) -> str:
    keys = ("avg", "min", "med", "max", "p90", "p95", "p99")
    return " ".join(f"{k if k[0] != 'p' else f'p({k[1:]})'}={_fmt_ms(stats[k])}" for k in keys)


def _breakdown_lines(summary: dict[str, Any]) -> list[str]:
    """Per request name and per step (journeys), when there is more than one name; capped at 30 rows each."""
    lines: list[str] = []
    by_name = summary.get("by_name") or {}
    if len(by_name) > 1:
        lines += ["", "  BY NAME".ljust(40) + f"{'reqs':>8} {'failed':>9} {'p95':>9}"]
        for name, stats in list(by_name.items())[:30]:
            count, failed = stats["http_reqs"]["count"], stats["http_req_failed"]["rate"] * 100
            p95 = _fmt_ms(stats["http_req_duration"]["p95"])
            lines.append(f"    {name[:34]} ".ljust(40, ".") + f"{count:>8} {failed:8.2f}% {p95:>9}")
    by_step = summary.get("by_step") or {}
    if by_step:
        lines += ["", "  BY STEP".ljust(40) + f"{'runs':>8} {'reqs':>9} {'p95':>9}"]
        for step, stats in list(by_step.items())[:30]:
            runs, reqs = stats["step_duration"]["count"], stats["http_reqs"]["count"]
            p95 = _fmt_ms(stats["step_duration"]["p95"])
            lines.append(f"    {step[:34]} ".ljust(40, ".") + f"{runs:>8} {reqs:>9} {p95:>9}")
    if summary.get("script_errors"):
        lines += ["", "  SCRIPT ERRORS  " + ", ".join(f"{k}={v}" for k, v in summary["script_errors"].items())]
    return lines


def _head_lines(summary: dict[str, Any]) -> list[str]:
    """Thresholds, then warnings in the same style (✗), then checks: what decides whether to trust the run."""
    lines: list[str] = []
    if summary["thresholds"]:
        lines.append("  THRESHOLDS")
        for key, entries in summary["thresholds"].items():
            for entry in entries:
                shown = "no data" if entry["value"] is None else f"{entry['value']:.4g}"
                lines.append(f"    {'✓' if entry['ok'] else '✗'} {key}: {entry['expr']}  (value {shown})")
        lines.append("")
    if summary.get("warnings"):
        lines.append("  WARNINGS")
        for warning in summary["warnings"]:
            lines.append(f"    ✗ {warning['id']}: {warning['message']}")
        lines.append("")
    if summary["checks"]:
        lines.append("  CHECKS")
        for name, counts in summary["checks"].items():
            total = counts["passes"] + counts["fails"]
            mark = "✓" if counts["fails"] == 0 else "✗"
            lines.append(f"    {mark} {name}: {counts['passes']}/{total} passed")
        lines.append("")
    return lines


def render_text(summary: dict[str, Any]) -> str:
    """A k6-like end-of-test summary: thresholds and warnings first, then checks, then every metric on a dotted
    line (✗ on a metric with a crossed threshold or a warning)."""
    lines = _head_lines(summary)
    marks = {key: all(e["ok"] for e in entries) for key, entries in summary["thresholds"].items()}
    for warning in summary.get("warnings", []):
        marks[warning["id"]] = False
    lines.append("  METRICS")
    for name, stats in summary["metrics"].items():
        mark = "" if name not in marks else ("✓ " if marks[name] else "✗ ")
        label = f"    {mark}{name}".ljust(34, ".")
        if "p95" in stats:
            if stats["count"] == 0 and name not in ("http_req_duration", "http_req_latency"):
                continue
            text = _trend_line(stats)
        elif name == "http_req_failed":
            text = f"{stats['rate'] * 100:.2f}%  {stats['fails']} failed, {stats['passes']} passed"
        elif name.startswith("data_"):
            text = f"{_fmt_bytes(stats['count'])}  {_fmt_bytes(stats['rate'])}/s"
        elif "rate" in stats:
            text = f"{stats['count']:g}  {stats['rate']:g}/s"
        else:
            text = f"{next(iter(stats.values()))}"
        lines.append(f"{label}: {text}")
    lines.extend(_breakdown_lines(summary))
    if summary.get("errors"):
        lines.append("")
        lines.append("  ERRORS  " + ", ".join(f"{k}={v}" for k, v in summary["errors"].items()))
    generator = summary.get("generator")
    if generator:
        lines.append("")
        state = "SATURATED — the load generator was the bottleneck" if summary.get("generator_saturated") else "ok"
        lines.append(
            f"  GENERATOR  {state} (CPU {generator['cpu_fraction'] * 100:.0f}% of a core, "
            f"event-loop lag p99 {generator['loop_lag_p99_ms']:.1f}ms)"
        )
    return "\n".join(lines)
