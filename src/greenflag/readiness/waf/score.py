"""WAF verdicts and scores, GoTestWAF's way (pure).

Per response (`decide`): a block regex match or a block status is *blocked*; a pass status, or the status the
harmless baseline request through the same placeholder got, is *passed*; anything else (a 5xx, a 400 from a
strict parser, a connection error) is *unresolved* and reported apart, never guessed.

Scores (`internal/db/statistics.go` in wallarm/gotestwaf): the attack block rate TP = blocked / resolved attacks,
the benign pass rate TN = passed / resolved benign requests, score = mean(TP, TN), and 0 when no attack was
blocked at all (a service with no WAF passes every benign request, and must not score 50). The grade uses
GoTestWAF's bands (`internal/report/html.go`): 97 A+, 93 A, 90 A-, 87 B+, 83 B, 80 B-, 77 C+, 73 C, 70 C-,
67 D+, 63 D, 60 D-, below F. Scores are given per attack class (its benign look-alikes as TN), per OWASP
Top 10 category, and overall; block rates per placeholder and per encoder show where bypasses live.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from greenflag.readiness.waf.plan import Case

__all__ = ["GRADE_BANDS", "Counts", "Decision", "Group", "Outcome", "WafScore", "decide", "grade", "score"]

__pure__ = True

Verdict = Literal["blocked", "passed", "unresolved"]
GRADE_BANDS: tuple[tuple[float, str], ...] = (
    (97, "A+"),
    (93, "A"),
    (90, "A-"),
    (87, "B+"),
    (83, "B"),
    (80, "B-"),
    (77, "C+"),
    (73, "C"),
    (70, "C-"),
    (67, "D+"),
    (63, "D"),
    (60, "D-"),
)


def grade(score_pct: float) -> str:
    for bound, letter in GRADE_BANDS:
        if score_pct >= bound:
            return letter
    return "F"


@dataclass(frozen=True)
class Decision:
    """How a response is read: GoTestWAF's --blockStatusCodes, --passStatusCodes, --blockRegex, --passRegex."""

    block_statuses: frozenset[int] = frozenset({403})
    pass_statuses: frozenset[int] = frozenset({200, 404})
    block_regex: str | None = None
    pass_regex: str | None = None
    block_conn_reset: bool = False  # a WAF that drops the connection instead of answering

    def to_json(self) -> dict[str, Any]:
        return {
            "block_statuses": sorted(self.block_statuses),
            "pass_statuses": sorted(self.pass_statuses),
            "block_regex": self.block_regex,
            "pass_regex": self.pass_regex,
            "block_conn_reset": self.block_conn_reset,
        }


def decide(
    status: int, body: str, error: str | None, rules: Decision, baseline: frozenset[int] = frozenset()
) -> Verdict:
    """One response's verdict. `status` 0 means no response (`error` says why); `baseline` holds the statuses the
    harmless request through the same placeholder received (they mean "reached the service")."""
    if status == 0:
        return "blocked" if rules.block_conn_reset and error in ("reset", "closed") else "unresolved"
    if rules.block_regex is not None and re.search(rules.block_regex, body):
        return "blocked"
    if status in rules.block_statuses:
        return "blocked"
    if rules.pass_regex is not None and re.search(rules.pass_regex, body):
        return "passed"
    if status in rules.pass_statuses or status in baseline:
        return "passed"
    return "unresolved"


@dataclass(frozen=True)
class Outcome:
    case: Case
    verdict: Verdict
    status: int
    error: str | None = None


@dataclass
class Counts:
    blocked: int = 0
    passed: int = 0
    unresolved: int = 0

    def add(self, verdict: Verdict) -> None:
        setattr(self, verdict, getattr(self, verdict) + 1)

    @property
    def sent(self) -> int:
        return self.blocked + self.passed + self.unresolved

    @property
    def resolved(self) -> int:
        return self.blocked + self.passed

    def rate(self, which: Literal["blocked", "passed"]) -> float | None:
        """Percent of resolved requests that were `which`; None when nothing resolved."""
        return None if self.resolved == 0 else 100.0 * getattr(self, which) / self.resolved

    def to_json(self) -> dict[str, Any]:
        return {"sent": self.sent, "blocked": self.blocked, "passed": self.passed, "unresolved": self.unresolved}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


@dataclass
class Group:
    """Attacks and benign requests of one slice (overall, an attack class, an OWASP category, ...)."""

    attacks: Counts = field(default_factory=Counts)
    benign: Counts = field(default_factory=Counts)

    @property
    def block_rate(self) -> float | None:
        return self.attacks.rate("blocked")

    @property
    def pass_rate(self) -> float | None:
        return self.benign.rate("passed")

    def score(self, fallback_pass_rate: float | None = None) -> float | None:
        """mean(TP, TN); 0 if no attack was blocked; the fallback TN (overall) when this slice has no benign
        requests; TP alone when there is no TN at all; None when no attack resolved."""
        tp = self.block_rate
        if tp is None:
            return None
        if self.attacks.blocked == 0:
            return 0.0
        tn = self.pass_rate if self.pass_rate is not None else fallback_pass_rate
        return tp if tn is None else (tp + tn) / 2

    def to_json(self, fallback_pass_rate: float | None = None) -> dict[str, Any]:
        value = self.score(fallback_pass_rate)
        false_positive = None if self.pass_rate is None else 100.0 - self.pass_rate
        return {
            "score": _round(value),
            "grade": None if value is None else grade(value),
            "block_rate": _round(self.block_rate),
            "pass_rate": _round(self.pass_rate),
            "false_positive_rate": _round(false_positive),
            "attacks": self.attacks.to_json(),
            "benign": self.benign.to_json(),
        }


@dataclass
class WafScore:
    overall: Group
    sets: dict[str, Group]
    owasp: dict[str, Group]
    placeholders: dict[str, Group]
    encoders: dict[str, Group]
    matrix: dict[str, dict[str, dict[str, Group]]] = field(default_factory=dict)  # set → placeholder → encoder

    @property
    def value(self) -> float:
        return self.overall.score() or 0.0

    @property
    def grade(self) -> str:
        return grade(self.value)

    def to_json(self, about: Mapping[str, Mapping[str, str]] | None = None) -> dict[str, Any]:
        """`about`: set id → {"title": ..., "owasp": ...} from the corpus."""
        fallback = self.overall.pass_rate
        sets = {}
        for key, group in self.sets.items():
            sets[key] = {**(about or {}).get(key, {"title": key}), **group.to_json(fallback)}
        return {
            "overall": self.overall.to_json(),
            "sets": sets,
            "owasp": {key: group.to_json(fallback) for key, group in self.owasp.items()},
            "placeholders": {key: group.to_json(fallback) for key, group in self.placeholders.items()},
            "encoders": {key: group.to_json(fallback) for key, group in self.encoders.items()},
            "matrix": {
                set_id: {
                    place: {
                        enc: {"attacks": g.attacks.to_json(), "benign": g.benign.to_json()} for enc, g in row.items()
                    }
                    for place, row in places.items()
                }
                for set_id, places in self.matrix.items()
            },
        }


def score(outcomes: Iterable[Outcome], owasp_of: Mapping[str, str]) -> WafScore:
    """Tally outcomes (baseline requests excluded) into the overall and per-slice groups."""
    result = WafScore(Group(), {}, {}, {}, {})
    for outcome in outcomes:
        case = outcome.case
        if case.kind == "baseline":
            continue
        slices = (
            result.overall,
            result.sets.setdefault(case.set_id, Group()),
            result.owasp.setdefault(owasp_of.get(case.set_id, "unmapped"), Group()),
            result.placeholders.setdefault(case.placeholder, Group()),
            result.encoders.setdefault(case.encoder, Group()),
            result.matrix.setdefault(case.set_id, {})
            .setdefault(case.placeholder, {})
            .setdefault(case.encoder, Group()),
        )
        for group in slices:
            (group.attacks if case.kind == "attack" else group.benign).add(outcome.verdict)
    return result
