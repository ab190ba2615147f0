"""The report model: what the HTML report and the live dashboard draw, as plain JSON-ready data.

Built from a load run's summary (`--summary-json`), its time series (`--out PATH.jsonl`) and a rollout's status
(`rollout status --json`, or the journal), with weight samples when someone watched the router (the dashboard,
`rollout start --wait --html`); without samples the weights over time are rebuilt from the rollout's events.
Pure: data in, data out; the renderers and the dashboard only serialise it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from greenflag.load.metrics.intervals import Sparse, hist_percentiles

__all__ = [
    "PERCENTILES",
    "load_model",
    "point",
    "report_model",
    "rollout_model",
    "rollouts_model",
    "series_rows",
    "weights_from_events",
]
__pure__ = True

PERCENTILES = (50.0, 90.0, 95.0, 99.0)
_STEP_WEIGHT = re.compile(r"step (\d+): (\d+) % to (\S+)")
_STEP = re.compile(r"step (\d+): (.*)$")
_WEIGHT = re.compile(r"(\d+) % to ")


def point(line: dict[str, Any]) -> dict[str, Any]:
    """One chart point from one time-series line: rates per second, error rate, latency percentiles (ms), VUs."""
    seconds = float(line.get("covered_s", line.get("interval_s", 1)))
    reqs = int(line.get("http_reqs", 0))
    failed = int(line.get("http_req_failed", 0))
    duration = hist_percentiles(Sparse.from_json(line.get("http_req_duration")), PERCENTILES)
    latency = hist_percentiles(Sparse.from_json(line.get("http_req_latency")), (95.0,))
    return {
        "t": int(line["t"]),
        "rps": round(reqs / seconds, 3) if seconds >= 0.5 else None,  # a sliver at the end is no rate
        "error_rate": round(failed / reqs, 6) if reqs else 0.0,
        "p50": duration[0],
        "p90": duration[1],
        "p95": duration[2],
        "p99": duration[3],
        "latency_p95": latency[0],
        "vus": int(line.get("vus", 0)),
        "iterations": int(line.get("iterations", 0)),
        "dropped_iterations": int(line.get("dropped_iterations", 0)),
    }


def series_rows(lines: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per request name over all lines: requests, failures, duration percentiles (exact HDR merge)."""
    names: dict[str, dict[str, Any]] = {}
    for line in lines:
        for name, stats in line.get("by_name", {}).items():
            entry = names.setdefault(name, {"reqs": 0, "failed": 0, "hists": []})
            entry["reqs"] += int(stats.get("http_reqs", 0))
            entry["failed"] += int(stats.get("http_req_failed", 0))
            entry["hists"].append(Sparse.from_json(stats.get("http_req_duration")))
    rows = []
    for name, entry in sorted(names.items()):
        p50, p95, p99 = hist_percentiles(Sparse.add(entry["hists"]), (50.0, 95.0, 99.0))
        reqs = entry["reqs"]
        rows.append(
            {"name": name, "reqs": reqs, "error_rate": entry["failed"] / reqs if reqs else 0.0, "p50": p50,
             "p95": p95, "p99": p99}
        )  # fmt: skip
    return rows


def _summary_rows(summary: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for name, stats in sorted((summary.get("by_name") or {}).items()):
        duration = stats.get("http_req_duration", {})
        rows.append(
            {
                "name": name,
                "reqs": stats.get("http_reqs", {}).get("count", 0),
                "error_rate": stats.get("http_req_failed", {}).get("rate", 0.0),
                "p50": duration.get("med"),
                "p95": duration.get("p95"),
                "p99": duration.get("p99"),
            }
        )
    return rows


def _from_lines(lines: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """A summary-shaped stand-in while the run goes on (the live dashboard): totals and checks from the lines."""
    reqs = sum(int(line.get("http_reqs", 0)) for line in lines)
    failed = sum(int(line.get("http_req_failed", 0)) for line in lines)
    covered = sum(float(line.get("covered_s", line.get("interval_s", 1))) for line in lines)
    duration = hist_percentiles(Sparse.add(Sparse.from_json(line.get("http_req_duration")) for line in lines), (95, 99))
    checks: dict[str, dict[str, int]] = {}
    for line in lines:
        for name, (passes, fails) in (line.get("checks") or {}).items():
            entry = checks.setdefault(name, {"passes": 0, "fails": 0})
            entry["passes"] += int(passes)
            entry["fails"] += int(fails)
    return {
        "duration_s": round(covered, 1),
        "metrics": {
            "http_reqs": {"count": reqs, "rate": round(reqs / covered, 1) if covered else 0.0},
            "http_req_failed": {"rate": failed / reqs if reqs else 0.0},
            "http_req_duration": {"p95": duration[0], "p99": duration[1]},
            "vus_max": {"value": max((int(line.get("vus_max", 0)) for line in lines), default=0)},
            "dropped_iterations": {"count": sum(int(line.get("dropped_iterations", 0)) for line in lines)},
        },
        "checks": checks,
        "ok": None,
    }


def load_model(
    summary: dict[str, Any] | None, lines: Sequence[dict[str, Any]] = (), *, with_points: bool = True
) -> dict[str, Any]:
    """The load part: chart points, per-name rows, headline numbers, thresholds and checks. Without a summary
    (a run still going on) the numbers come from the lines."""
    summary = summary if summary is not None else _from_lines(lines)
    metrics = summary.get("metrics", {})
    thresholds = [
        {"metric": key, "expr": entry.get("expr", ""), "ok": bool(entry.get("ok")), "value": entry.get("value")}
        for key, entries in (summary.get("thresholds") or {}).items()
        for entry in entries
    ]
    checks = [
        {"name": name, "passes": int(c.get("passes", 0)), "fails": int(c.get("fails", 0))}
        for name, c in (summary.get("checks") or {}).items()
    ]
    headline = {
        "requests": metrics.get("http_reqs", {}).get("count"),
        "rps": metrics.get("http_reqs", {}).get("rate"),
        "error_rate": metrics.get("http_req_failed", {}).get("rate"),
        "p95": metrics.get("http_req_duration", {}).get("p95"),
        "p99": metrics.get("http_req_duration", {}).get("p99"),
        "vus_max": metrics.get("vus_max", {}).get("value"),
        "duration_s": summary.get("duration_s"),
        "dropped_iterations": metrics.get("dropped_iterations", {}).get("count"),
    }
    return {
        "target": summary.get("target", ""),
        "started_at": summary.get("started_at"),
        "ok": summary.get("ok"),
        "aborted": summary.get("aborted"),
        "headline": headline,
        "points": [point(line) for line in lines] if with_points else [],
        "by_name": _summary_rows(summary) if summary.get("by_name") else series_rows(lines),
        "thresholds": thresholds,
        "checks": checks,
        "errors": dict(summary.get("errors") or {}),
        "by_step": [
            {
                "step": name,
                "runs": s.get("step_duration", {}).get("count", 0),
                "reqs": s.get("http_reqs", {}).get("count", 0),
                "p95": s.get("step_duration", {}).get("p95"),
            }
            for name, s in (summary.get("by_step") or {}).items()
        ],
    }


def weights_from_events(status: dict[str, Any]) -> list[dict[str, Any]]:
    """Weights over time rebuilt from a rollout's events: the stable at 100 % when it started, each step's
    weight, 100 % at promotion, 0 % for the canary at a rollback."""
    version, stable = status.get("version"), status.get("stable")
    samples: list[dict[str, Any]] = []
    current: dict[str, int] = {}

    def put(t: float, weights: dict[str, int]) -> None:
        current.clear()
        current.update(weights)
        samples.append({"t": t, "weights": dict(weights)})

    for event in status.get("events", []):
        t, kind, message = float(event.get("epoch", 0)), event.get("kind"), str(event.get("message", ""))
        if kind == "started":
            old = None if "initial deployment" in message else _from(message)
            if old is not None:
                put(t, {old: 100, str(version): 0})
            continue
        match = _STEP_WEIGHT.search(message) if kind == "step" else None
        if match is not None:
            canary, weight = match.group(3), int(match.group(2))
            others = [name for name in current if name != canary]
            put(t, {canary: weight, **{name: 100 - weight for name in others[:1]}})
        elif kind in ("promoted", "promote_full"):
            put(t, {str(version): 100, **{name: 0 for name in current if name != version}})
        elif kind == "rollback":
            kept = stable if stable and stable != version else next((n for n in current if n != version), None)
            put(t, {str(version): 0, **({kept: 100} if kept else {})})
    return samples


def _from(message: str) -> str | None:
    match = re.search(r"from (\S+)\)", message)
    return match.group(1) if match else None


def rollout_model(status: dict[str, Any] | None, samples: Iterable[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The rollout part: versions, phase, weights over time, step markers, the rollback, steps, analysis, events."""
    if not status or status.get("phase") is None:
        return {}
    events = list(status.get("events", []))
    weights = list(samples) if samples is not None else []
    if not weights:
        weights = weights_from_events(status)
    markers = [
        {"t": float(e["epoch"]), "kind": e["kind"], "label": e["message"]}
        for e in events
        if e.get("kind") in ("step", "promoted", "promote_full", "rollback", "paused", "analysis", "resumed")
    ]
    rollback = next((e for e in reversed(events) if e.get("kind") == "rollback"), None)
    return {
        "service": status.get("service"),
        "version": status.get("version"),
        "stable": status.get("stable"),
        "strategy": status.get("strategy"),
        "phase": status.get("phase"),
        "stage": status.get("stage"),
        "step": status.get("step"),
        "weights_now": dict(status.get("weights") or {}),
        "abort_reason": status.get("abort_reason"),
        "weights": weights,
        "markers": markers,
        "rollback": None
        if rollback is None
        else {
            "t": float(rollback["epoch"]),
            "message": rollback.get("message"),
            "trigger": rollback.get("trigger"),
            "value": rollback.get("value"),
            "limit": rollback.get("limit"),
        },
        "steps": step_rows(events, status),
        "analysis": analysis_rows(status),
        "measurements": list(status.get("measurements") or []),
        "events": [
            {"time": e.get("time"), "t": e.get("epoch"), "kind": e.get("kind"), "message": e.get("message")}
            for e in events
        ],
    }


def step_rows(events: Sequence[dict[str, Any]], status: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per step the rollout reached (from its events): what it was (a weight, an analysis, a pause), the
    weight in effect, when it started and how it ended; the promotion is the last row."""
    rows: list[dict[str, Any]] = []
    weight: int | None = None

    def close(t: float) -> None:
        if rows and rows[-1]["ended"] is None:
            rows[-1]["ended"] = t
            rows[-1]["outcome"] = rows[-1]["outcome"] or "passed"

    for event in events:
        kind, message, t = event.get("kind"), str(event.get("message", "")), float(event.get("epoch", 0))
        match = _STEP.match(message) if kind in ("step", "paused", "resumed", "analysis") else None
        if match is not None:
            number, text = int(match.group(1)), match.group(2)
            if not rows or rows[-1]["step"] != number or rows[-1]["outcome"] == "promoted":
                close(t)
                rows.append({"step": number, "what": "", "weight": weight, "started": t, "ended": None,
                             "outcome": None, "notes": []})  # fmt: skip
            row = rows[-1]
            set_weight = _WEIGHT.match(text) if kind == "step" else None
            if set_weight is not None:
                weight = row["weight"] = int(set_weight.group(1))
                row["what"] = text
            elif kind == "analysis" and not row["what"]:
                row["what"] = "analysis"
            elif kind == "paused" and not row["what"]:
                row["what"] = "pause"
            row["notes"].append(text)
        elif kind in ("promoted", "promote_full"):
            close(t)
            rows.append({"step": status.get("step"), "what": "promotion", "weight": 100, "started": t, "ended": t,
                         "outcome": "promoted", "notes": [message]})  # fmt: skip
        elif kind == "rollback" and rows and rows[-1]["outcome"] != "promoted":
            rows[-1].update(ended=t, outcome="rolled back")
            rows[-1]["notes"].append(message)
    return rows


def analysis_rows(status: dict[str, Any]) -> list[dict[str, Any]]:
    """Per analysis run and metric: measurements taken and their verdicts, the last measurement."""
    rows = []
    for run, state in (status.get("analysis") or {}).items():
        for metric, rec in sorted((state.get("metrics") or {}).items()):
            last = rec.get("last_bad") or rec.get("last") or {}
            rows.append(
                {
                    "run": run,
                    "metric": metric,
                    "measured": int(rec.get("measured", 0)),
                    "successful": int(rec.get("successful", 0)),
                    "failed": int(rec.get("failed", 0)),
                    "inconclusive": int(rec.get("inconclusive", 0)),
                    "errors": int(rec.get("errors", 0)),
                    "verdict": last.get("verdict"),
                    "value": last.get("value"),
                    "message": last.get("message", ""),
                }
            )
    return rows


def report_model(
    *,
    title: str = "greenflag report",
    summary: dict[str, Any] | None = None,
    lines: Sequence[dict[str, Any]] = (),
    statuses: Sequence[dict[str, Any]] = (),
    samples: Mapping[Any, Sequence[dict[str, Any]]] | None = None,
    live: bool = False,
) -> dict[str, Any]:
    """Everything one page shows: the load part and the rollouts (oldest first), with the weights sampled while
    each one ran (`samples`, by rollout id) where someone watched. `live`: the dashboard (the page then listens
    for updates)."""
    return {
        "title": title,
        "live": live,
        "load": load_model(summary, lines) if summary is not None or lines else None,
        "rollouts": rollouts_model(statuses, samples),
    }


def rollouts_model(
    statuses: Sequence[dict[str, Any]], samples: Mapping[Any, Sequence[dict[str, Any]]] | None = None
) -> list[dict[str, Any]]:
    out = []
    for status in statuses:
        part = rollout_model(status, (samples or {}).get(status.get("rollout_id")))
        if part:
            out.append(part)
    return out
