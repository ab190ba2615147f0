"""`greenflag rollout plan`: a rollout's steps, its analysis traffic, and how long its analysis would take to catch
the configured faults at the traffic it will see — before anything starts (the estimates: `analysis.sizing`).

The traffic comes from the router's recent stats: users' requests per second (analysis traffic left out) and the
serving version's errors and latency histogram over the kept lookback (`GET /stats/export` on the embedded router,
else its 300 s window), or `user_rate` when given (what-if), or nothing when the router has none.
"""

from __future__ import annotations

import asyncio
from typing import Any

from greenflag.analysis.compare import Sample
from greenflag.analysis.recording import Recording
from greenflag.analysis.sizing import Detection, Facts, Window, fault_sizes, size
from greenflag.rollout.plan import rollout_steps
from greenflag.rollout.steps import new_status
from greenflag.spec import AnalysisBody, AnalysisStep, PauseStep, SetWeightStep, Spec
from greenflag.traffic.base import RouterStats

__all__ = ["describe_steps", "forecast", "gather_facts", "plan_windows", "render"]


def _steps(spec: Spec) -> list[Any]:
    return rollout_steps(spec, new_status(spec, 0, "new", "stable", 0.0))


def describe_steps(spec: Spec) -> list[str]:
    """One line per traffic step of a rollout that has a stable version."""
    out = []
    for i, step in enumerate(_steps(spec)):
        if isinstance(step, SetWeightStep):
            out.append(f"step {i}: {step.set_weight} % of users to the new version")
        elif isinstance(step, PauseStep):
            d = step.pause.duration
            out.append(f"step {i}: pause {'until promoted' if d is None else f'{d:g}s'}")
        else:
            out.append(f"step {i}: analysis {_duration(spec, step.analysis):g}s")
    return out


def _duration(spec: Spec, body: AnalysisBody) -> float:
    return body.duration if body.duration is not None else spec.analysis.window


def plan_windows(spec: Spec) -> list[Window]:
    """The plan's analysis runs: each analysis step at the weight in force (blue-green: pre-promotion at 0 %,
    post-promotion at 100 %); with background analysis and no analysis step, the first weight step until the
    next change (at least `analysis.window`, which promotion waits for a decision)."""
    traffic = spec.analysis.traffic
    synthetic_s = None if traffic is None else traffic.duration
    steps = _steps(spec)
    weight = 0
    out: list[Window] = []
    for i, step in enumerate(steps):
        if isinstance(step, SetWeightStep):
            weight = step.set_weight
        elif isinstance(step, AnalysisStep):
            duration = _duration(spec, step.analysis)
            out.append(Window(f"step {i}: analysis {duration:g}s at {weight} %", weight / 100, duration, synthetic_s))
    canary = spec.strategy.canary
    if not out and canary is not None and canary.background_analysis:
        for i, step in enumerate(steps):
            if isinstance(step, SetWeightStep) and 0 < step.set_weight < 100:
                hold = 0.0
                for later in steps[i + 1 :]:
                    if not isinstance(later, PauseStep) or later.pause.duration is None:
                        break
                    hold += later.pause.duration
                duration = max(hold, spec.analysis.window)
                name = f"step {i}: background analysis {duration:g}s at {step.set_weight} %"
                out.append(Window(name, step.set_weight / 100, duration, synthetic_s))
                break
    return out


async def gather_facts(router: Any, *, user_rate: float | None = None) -> Facts:
    """Users' traffic the router saw recently (see the module's docstring); never raises."""
    facts = Facts(source="no traffic seen (the router reports none)")
    try:
        if hasattr(router, "stats_export"):
            facts = _from_recording(Recording.from_records(await asyncio.wait_for(router.stats_export(), 5.0)))
        elif isinstance(router, RouterStats) or hasattr(router, "stats"):
            facts = _from_windows(await asyncio.wait_for(router.stats(300.0), 5.0))
    except Exception as exc:  # the router is not reachable: plan without its numbers, and say so
        facts = Facts(source=f"router stats unavailable: {exc}")
    if user_rate is not None:
        facts = Facts(
            user_rate, facts.baseline, facts.lookback_s, f"users' rate given: {user_rate:g}/s; {facts.source}"
        )
    return facts


def _from_recording(rec: Recording) -> Facts:
    start, end = rec.start, rec.end
    if start is None or end is None:
        return Facts(source="no traffic seen (the router has no requests in its last 300 s)")
    users = {name: rec.window(name, start, end).part("user") for name in rec.backends}
    total = sum(w.requests for w in users.values())
    stable = max(users.values(), key=lambda w: w.requests)
    span = end - start
    baseline = Sample.from_window(stable)
    source = (
        f"router, last {span:g}s: {stable.backend} served {stable.requests} users' requests, {stable.errors} failed"
    )
    return Facts(total / span, baseline, span, source)


def _from_windows(windows: dict[str, Any]) -> Facts:
    users = {name: w.part("user") for name, w in windows.items()}
    if not users or not any(w.requests for w in users.values()):
        return Facts(source="no traffic seen (the router has no requests in its last 300 s)")
    stable = max(users.values(), key=lambda w: w.requests)
    total = sum(w.requests for w in users.values())
    source = f"router, 300 s window: {stable.backend} served {stable.requests} users' requests, {stable.errors} failed"
    return Facts(total / 300.0, Sample.from_window(stable), 300.0, source)


def forecast(spec: Spec, facts: Facts, *, seed: int = 1) -> dict[str, Any]:
    """The plan as JSON: steps, analysis traffic, the traffic seen, and the detection estimates."""
    traffic = spec.analysis.traffic
    windows = plan_windows(spec)
    error, latency = fault_sizes(spec.analysis)
    detections: list[Detection] = size(spec.analysis, facts, windows, seed=seed)
    return {
        "service": spec.service,
        "strategy": "canary" if spec.strategy.canary is not None else "blue_green",
        "steps": describe_steps(spec),
        "analysis_traffic": None
        if traffic is None
        else {
            "source": traffic.urls if traffic.urls is not None else traffic.journeys,
            "rate": traffic.rate,
            "max_rate": traffic.max_rate,
            "duration_s": traffic.duration,
            "judge": traffic.judge,
        },
        "traffic_seen": {
            "users_rate": round(facts.user_rate, 3),
            "lookback_s": facts.lookback_s,
            "source": facts.source,
        },
        "faults": {"error_rate": error, "latency_ms": latency},
        "interval_s": spec.analysis.interval,
        "detection": [d.to_json() for d in detections],
    }


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}s"


def render(report: dict[str, Any]) -> list[str]:
    """The plan for a terminal, one line each."""
    lines = [f"plan for {report['service']} ({report['strategy']}):"]
    lines += [f"  {step}" for step in report["steps"]]
    traffic = report["analysis_traffic"]
    if traffic is None:
        lines.append("analysis traffic: none (the canary is judged on users' requests only)")
    else:
        source = traffic["source"] if isinstance(traffic["source"], str) else ", ".join(traffic["source"])
        until = "while analysing" if traffic["duration_s"] is None else f"for {traffic['duration_s']:g}s of each run"
        lines.append(
            f"analysis traffic: {traffic['rate']:g}/s to each of the new version and the stable ({source}), {until}, "
            f"at most {traffic['max_rate']:g} req/s; judged: {traffic['judge']}"
        )
    seen = report["traffic_seen"]
    lines.append(f"users' traffic: {seen['users_rate']:.3g} req/s ({seen['source']})")
    if not report["detection"]:
        lines.append("time to detect: no analysis in this plan (or analysis.defaults is false)")
        return lines
    lines.append(
        f"time to detect, from the start of the analysis (simulated: analysis every {report['interval_s']:g}s, "
        "the built-in rules, fixed seed; the controller acts on its next tick):"
    )
    window = None
    for d in report["detection"]:
        if d["window"] != window:
            window = d["window"]
            lines.append(f"  {window}: the canary gets {d['canary_rate']:.3g} req/s ({d['users_rate']:.3g} users')")
        head = f"    {d['fault']:<18} "
        if d["caught"] == 0:
            lines.append(head + f"not caught within the window ({d['note'] or 'too little traffic'})")
            continue
        text = (
            f"caught {d['caught']}/{d['runs']}: median {_seconds(d['median_s'])}, 95th percentile "
            f"{_seconds(d['p95_s'])}, worst {_seconds(d['max_s'])}"
        )
        if d["exposed_users"] is not None:
            text += f"; at most {d['exposed_users']} users' requests served by the faulty version first"
        else:
            text += f"; {100 - 100 * d['caught'] / d['runs']:.0f} % would pass the analysis (more traffic or time)"
        lines.append(head + text + (f" ({d['note']})" if d["note"] else ""))
    return lines
