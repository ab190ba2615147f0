"""`check_waf(url)`: send the corpus to a URL behind a WAF and score how much it blocks and how much it lets by.

    result = await check_waf("http://127.0.0.1:8080/api/items", waf=WafOptions(budget=500, rate=100))
    result.grade, result.score, result.evidence["sets"]["sqli"]["block_rate"]

Order: plan (pure) → one harmless baseline request per placeholder → the cases, at the rate limit → verdicts and
scores (pure).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from greenflag.readiness.base import CheckResult
from greenflag.readiness.target import TargetOptions
from greenflag.readiness.waf.corpus import load_corpus
from greenflag.readiness.waf.evaluate import Limits, evaluate
from greenflag.readiness.waf.plan import Case, PayloadSet, apply_budget, baseline_cases, build_request, plan_cases
from greenflag.readiness.waf.score import Decision, Outcome, decide
from greenflag.readiness.waf.send import SendLimits, origin_and_target, send_all

__all__ = ["WafOptions", "check_waf", "select_cases"]


@dataclass(frozen=True)
class WafOptions:
    decision: Decision = field(default_factory=Decision)
    limits: Limits = field(default_factory=Limits)
    budget: int = 2000  # requests at most, baseline included
    send: SendLimits = field(default_factory=SendLimits)
    corpus: tuple[str, ...] = ()  # extra corpus files or directories
    builtin: bool = True  # include the shipped corpus
    sets: tuple[str, ...] = ()  # only these attack classes (ids); empty = all
    placeholders: tuple[str, ...] = ()  # only these placeholders; empty = all
    encoders: tuple[str, ...] = ()  # only these encoders; empty = all


def select_cases(sets: Sequence[PayloadSet], waf: WafOptions, base_target: str) -> tuple[list[Case], int]:
    """The sendable cases after the filters, cut to the budget (minus the baseline); and how many were planned."""
    wanted = [s for s in sets if not waf.sets or s.id in waf.sets]
    cases = [
        case
        for case in plan_cases(wanted)
        if (not waf.placeholders or case.placeholder in waf.placeholders)
        and (not waf.encoders or case.encoder in waf.encoders)
        and build_request(case, base_target) is not None
    ]
    chosen = apply_budget(cases, max(0, waf.budget - len(baseline_cases(cases))))
    # A cut corpus may leave a placeholder out, and with it its baseline request: spend what that frees.
    while len(chosen) < len(cases):
        spare = waf.budget - len(baseline_cases(chosen)) - len(chosen)
        bigger = apply_budget(cases, len(chosen) + spare) if spare > 0 else chosen
        if bigger is chosen or len(bigger) + len(baseline_cases(bigger)) > waf.budget:
            break
        chosen = bigger
    return chosen, len(cases)


async def check_waf(url: str, *, waf: WafOptions = WafOptions(), options: TargetOptions | None = None) -> CheckResult:
    start = time.monotonic()
    options = options or TargetOptions()
    _, base_target = origin_and_target(url)
    sets = load_corpus(waf.corpus, builtin=waf.builtin)
    unknown = sorted(set(waf.sets) - {s.id for s in sets})
    if unknown:
        raise ValueError(f"unknown attack class {', '.join(unknown)}; the corpus has {', '.join(s.id for s in sets)}")
    cases, planned = select_cases(sets, waf, base_target)
    baseline = baseline_cases(cases)
    everything = baseline + cases
    requests = [build_request(case, base_target) for case in everything]
    responses = await send_all(url, [r for r in requests if r is not None], options, waf.send)
    rules = waf.decision
    base_outcomes = [
        Outcome(case, decide(resp.status, resp.body, resp.error, rules), resp.status, resp.error)
        for case, resp in zip(baseline, responses, strict=False)
    ]
    reached = {o.case.placeholder: frozenset({o.status}) for o in base_outcomes if o.status and o.verdict != "blocked"}
    outcomes = [
        Outcome(
            case,
            decide(resp.status, resp.body, resp.error, rules, reached.get(case.placeholder, frozenset())),
            resp.status,
            resp.error,
        )
        for case, resp in zip(cases, responses[len(baseline) :], strict=True)
    ]
    info = {
        "planned": planned,
        "sent": len(cases),
        "baseline": len(baseline),
        "budget": waf.budget,
        "rate": waf.send.rate,
        "concurrency": waf.send.concurrency,
    }
    result = evaluate(url, outcomes, base_outcomes, sets, rules, waf.limits, requests=info)
    return CheckResult(
        result.name,
        result.target,
        result.status,
        result.findings,
        result.grade,
        result.score,
        result.evidence,
        time.monotonic() - start,
    )
