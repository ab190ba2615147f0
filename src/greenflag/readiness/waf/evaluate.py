"""From the WAF check's outcomes to a CheckResult: status, grade, findings and the JSON evidence (pure).

Default pass criterion (readiness reference, row "WAF"): attack block rate ≥ 90 % and false-positive rate ≤ 5 %;
more than 5 % unresolved responses is a warning (the verdicts cannot be trusted); optionally a minimum grade.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from greenflag.readiness.base import CheckResult, Finding, Severity, Status
from greenflag.readiness.waf.plan import PayloadSet
from greenflag.readiness.waf.score import GRADE_BANDS, Decision, Outcome, score

__all__ = ["Limits", "evaluate", "grade_at_least"]

__pure__ = True

_LETTERS = [letter for _, letter in GRADE_BANDS] + ["F"]
EXAMPLES = 20  # false positives and bypasses listed in the evidence


@dataclass(frozen=True)
class Limits:
    min_block_rate: float = 90.0
    max_false_positive_rate: float = 5.0
    max_unresolved_rate: float = 5.0
    min_grade: str | None = None


def grade_at_least(grade: str, minimum: str) -> bool:
    return _LETTERS.index(grade) <= _LETTERS.index(minimum)


def _example(outcome: Outcome) -> dict[str, Any]:
    case = outcome.case
    return {
        "set": case.set_id,
        "payload": case.payload,
        "placeholder": case.placeholder,
        "encoder": case.encoder,
        "status": outcome.status,
        **({"error": outcome.error} if outcome.error else {}),
    }


def _baseline_findings(baseline: Sequence[Outcome], url: str) -> tuple[list[Finding], set[str]]:
    findings: list[Finding] = []
    blocked: set[str] = set()
    for outcome in baseline:
        place = outcome.case.placeholder
        if outcome.verdict == "blocked":
            blocked.add(place)
            findings.append(
                Finding(
                    f"waf.baseline_blocked.{place}",
                    Severity.HIGH,
                    f"A harmless request through the {place} placeholder was blocked (HTTP {outcome.status}): "
                    f"the WAF or {url} rejects this kind of request anyway, so its {place} results are counted as "
                    "unresolved.",
                    {"status": outcome.status},
                )
            )
        elif outcome.status == 0:
            findings.append(
                Finding(
                    f"waf.baseline_failed.{place}",
                    Severity.MEDIUM,
                    f"The harmless request through the {place} placeholder got no response ({outcome.error}).",
                    {"error": outcome.error},
                )
            )
    return findings, blocked


def evaluate(
    url: str,
    outcomes: Sequence[Outcome],
    baseline: Sequence[Outcome],
    sets: Sequence[PayloadSet],
    decision: Decision,
    limits: Limits = Limits(),
    *,
    requests: dict[str, Any] | None = None,
) -> CheckResult:
    """The WAF CheckResult for `url`. `outcomes` exclude the baseline requests, which come in `baseline`."""
    if baseline and all(outcome.status == 0 for outcome in baseline):
        errors = sorted({str(outcome.error) for outcome in baseline})
        finding = Finding("waf.unreachable", Severity.HIGH, f"{url} did not answer: {'; '.join(errors)}.")
        return CheckResult("waf", url, Status.ERROR, (finding,), evidence={"requests": requests or {}})
    findings, unusable = _baseline_findings(baseline, url)
    outcomes = [
        o if o.case.placeholder not in unusable else Outcome(o.case, "unresolved", o.status, o.error) for o in outcomes
    ]
    tally = score(outcomes, {s.id: s.owasp for s in sets})
    overall = tally.overall
    value, letter = tally.value, tally.grade
    block_rate, pass_rate = overall.block_rate, overall.pass_rate
    status = Status.PASS
    blocked_statuses = ", ".join(map(str, sorted(decision.block_statuses)))
    if overall.attacks.resolved and overall.attacks.blocked == 0:
        status = Status.FAIL
        findings.append(
            Finding(
                "waf.nothing_blocked",
                Severity.CRITICAL,
                f"No attack was blocked (block statuses: {blocked_statuses}): is a WAF in front of {url}, in blocking "
                "mode? If it blocks with another status or a 200 page, say so with --block-status or --block-regex.",
            )
        )
    elif block_rate is not None and block_rate < limits.min_block_rate:
        status = Status.FAIL
        findings.append(
            Finding(
                "waf.block_rate_low",
                Severity.HIGH,
                f"The WAF blocked {block_rate:.1f} % of the attacks (minimum {limits.min_block_rate:g} %).",
                {"block_rate": round(block_rate, 2)},
            )
        )
    false_positive = None if pass_rate is None else 100.0 - pass_rate
    if false_positive is not None and false_positive > limits.max_false_positive_rate:
        status = Status.FAIL
        findings.append(
            Finding(
                "waf.false_positives",
                Severity.HIGH,
                f"The WAF blocked {false_positive:.1f} % of the legitimate requests (maximum "
                f"{limits.max_false_positive_rate:g} %): real users would see errors; see evidence.false_positives.",
                {"false_positive_rate": round(false_positive, 2)},
            )
        )
    if limits.min_grade is not None and not grade_at_least(letter, limits.min_grade):
        status = Status.FAIL
        findings.append(
            Finding(
                "waf.grade_below_minimum",
                Severity.HIGH,
                f"WAF grade {letter} ({value:.1f}) is below the minimum {limits.min_grade}.",
            )
        )
    for set_id, group in tally.sets.items():
        rate = group.block_rate
        if rate is not None and rate < limits.min_block_rate and overall.attacks.blocked:
            bypass = Counter(
                f"{o.case.placeholder}/{o.case.encoder}"
                for o in outcomes
                if o.case.set_id == set_id and o.case.kind == "attack" and o.verdict == "passed"
            )
            where = ", ".join(f"{key} ({count})" for key, count in bypass.most_common(3))
            findings.append(
                Finding(
                    f"waf.{set_id}.block_rate_low",
                    Severity.MEDIUM,
                    f"{set_id}: {rate:.1f} % of the attacks blocked; most bypasses through {where or 'n/a'}.",
                    {"block_rate": round(rate, 2)},
                )
            )
    sent = len(outcomes)
    unresolved = overall.attacks.unresolved + overall.benign.unresolved
    if sent and 100.0 * unresolved / sent > limits.max_unresolved_rate:
        statuses = Counter(
            o.status if o.status else str(o.error).split(":")[0] for o in outcomes if o.verdict == "unresolved"
        )
        seen = ", ".join(f"{key}: {count}" for key, count in statuses.most_common(5))
        findings.append(
            Finding(
                "waf.unresolved",
                Severity.MEDIUM,
                f"{unresolved} of {sent} responses were neither a block nor a pass ({seen}); name the WAF's block "
                "status (--block-status) or the service's normal statuses (--pass-status) to resolve them.",
                {"unresolved": unresolved},
            )
        )
        if status is Status.PASS:
            status = Status.WARN
    if requests and requests.get("planned", 0) > requests.get("sent", 0):
        findings.append(
            Finding(
                "waf.budget",
                Severity.INFO,
                f"The request budget cut the corpus to {requests['sent']} of {requests['planned']} requests, "
                "spread evenly over every attack class, placeholder and encoder.",
            )
        )
    if status is Status.PASS and any(f.severity in (Severity.HIGH, Severity.MEDIUM) for f in findings):
        status = Status.WARN
    evidence: dict[str, Any] = {
        "score": round(value, 2),
        "grade": letter,
        **tally.to_json({s.id: {"title": s.title, "owasp": s.owasp} for s in sets}),
        "decision": {**decision.to_json(), "baseline": {o.case.placeholder: o.status or o.error for o in baseline}},
        "requests": requests or {},
        "false_positives": [_example(o) for o in outcomes if o.case.kind == "benign" and o.verdict == "blocked"][
            :EXAMPLES
        ],
        "bypasses": [_example(o) for o in outcomes if o.case.kind == "attack" and o.verdict == "passed"][:EXAMPLES],
    }
    return CheckResult("waf", url, status, tuple(findings), grade=letter, score=round(value, 2), evidence=evidence)
