"""WAF verdicts, GoTestWAF's scores and grades, and the check's status and findings (pure)."""

from __future__ import annotations

import pytest

from greenflag.readiness.base import Status
from greenflag.readiness.waf.evaluate import Limits, evaluate
from greenflag.readiness.waf.plan import Case, PayloadSet
from greenflag.readiness.waf.score import Counts, Decision, Group, Outcome, decide, grade, score

RULES = Decision(block_statuses=frozenset({403, 406}), pass_statuses=frozenset({200, 404}))


def test_decide() -> None:
    assert decide(403, "", None, RULES) == "blocked"
    assert decide(406, "", None, RULES) == "blocked"
    assert decide(200, "", None, RULES) == "passed"
    assert decide(422, "", None, RULES) == "unresolved"
    assert decide(422, "", None, RULES, baseline=frozenset({422})) == "passed"  # what a harmless request gets
    assert decide(500, "", None, RULES) == "unresolved"
    assert decide(0, "", "reset", RULES) == "unresolved"
    assert decide(0, "", "reset", Decision(block_conn_reset=True)) == "blocked"
    assert decide(0, "", "timeout", Decision(block_conn_reset=True)) == "unresolved"
    page = Decision(block_regex=r"Request ID: \d+", pass_regex="Welcome")
    assert decide(200, "<h1>Sorry</h1> Request ID: 1234", None, page) == "blocked"  # a 200 block page
    assert decide(418, "Welcome back", None, page) == "passed"


@pytest.mark.parametrize(
    ("value", "letter"),
    [
        (100, "A+"),
        (97, "A+"),
        (96.99, "A"),
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
        (59.99, "F"),
        (0, "F"),
    ],
)
def test_grade_bands(value: float, letter: str) -> None:
    assert grade(value) == letter


def test_score_is_the_mean_of_block_and_pass_rates_and_zero_without_blocks() -> None:
    # GoTestWAF's README example: true-positive 45.41 %, true-negative 90.78 % → 68.10 %.
    group = Group(Counts(blocked=4541, passed=5459, unresolved=7), Counts(blocked=922, passed=9078))
    assert group.block_rate == pytest.approx(45.41) and group.pass_rate == pytest.approx(90.78)
    assert group.score() == pytest.approx((45.41 + 90.78) / 2)
    # unresolved requests do not count either way
    assert Group(Counts(blocked=9, passed=1, unresolved=90), Counts(passed=10)).score() == pytest.approx(95.0)
    # nothing blocked: 0, even with every benign request passed (not 50)
    assert Group(Counts(passed=10), Counts(passed=10)).score() == 0.0
    assert Group(Counts(unresolved=3), Counts(passed=10)).score() is None  # nothing resolved: no score
    assert Group(Counts(blocked=8, passed=2), Counts()).score(fallback_pass_rate=50.0) == pytest.approx(65.0)
    assert Group(Counts(blocked=8, passed=2), Counts()).score() == pytest.approx(80.0)


def outcome(set_id: str, kind: str, verdict: str, placeholder: str = "query", status: int = 0) -> Outcome:
    code = status or {"blocked": 403, "passed": 200, "unresolved": 500}[verdict]
    return Outcome(Case(set_id, kind, 0, "p", placeholder, "plain"), verdict, code)  # type: ignore[arg-type]


SETS = [
    PayloadSet("sqli", "SQL injection", "A03:2021 Injection", ("query",), ("plain",), ("x",)),
    PayloadSet("xss", "XSS", "A03:2021 Injection", ("query",), ("plain",), ("x",)),
    PayloadSet("ssrf", "SSRF", "A10:2021 Server-Side Request Forgery", ("query",), ("plain",), ("x",)),
]


def test_slices() -> None:
    outcomes = (
        [outcome("sqli", "attack", "blocked")] * 9
        + [outcome("sqli", "attack", "passed", "cookie")]
        + [outcome("sqli", "benign", "passed")] * 4
        + [outcome("sqli", "benign", "blocked")]
        + [outcome("ssrf", "attack", "passed")] * 2
        + [outcome("ssrf", "benign", "passed")] * 2
    )
    tally = score(outcomes, {s.id: s.owasp for s in SETS})
    assert tally.sets["sqli"].score() == pytest.approx((90 + 80) / 2)
    assert tally.sets["ssrf"].score() == 0.0
    assert tally.owasp["A03:2021 Injection"].attacks.blocked == 9
    assert tally.placeholders["cookie"].block_rate == 0.0
    assert tally.overall.block_rate == pytest.approx(75.0)  # 9 of 12
    assert tally.matrix["sqli"]["cookie"]["plain"].attacks.passed == 1


def test_evaluate_pass_fail_and_findings() -> None:
    baseline = [outcome("baseline", "baseline", "passed")]
    good = (
        [outcome("sqli", "attack", "blocked")] * 19
        + [outcome("sqli", "attack", "passed")]
        + [outcome("sqli", "benign", "passed")] * 20
    )
    result = evaluate("http://127.0.0.1:1/", good, baseline, SETS, RULES)
    assert result.status is Status.PASS and result.grade == "A+" and result.score == 97.5
    assert result.evidence["sets"]["sqli"]["title"] == "SQL injection"
    assert result.to_json()["grade"] == "A+"

    leaky = good + [outcome("xss", "attack", "passed")] * 20
    result = evaluate("http://127.0.0.1:1/", leaky, baseline, SETS, RULES)
    ids = {f.id for f in result.findings}
    assert result.status is Status.FAIL and {"waf.block_rate_low", "waf.xss.block_rate_low"} <= ids
    assert result.evidence["bypasses"][0]["set"] == "sqli"

    noisy = good + [outcome("sqli", "benign", "blocked")] * 2
    result = evaluate("http://127.0.0.1:1/", noisy, baseline, SETS, RULES)
    assert result.status is Status.FAIL and "waf.false_positives" in {f.id for f in result.findings}
    assert (
        evaluate("http://127.0.0.1:1/", noisy, baseline, SETS, RULES, Limits(max_false_positive_rate=10)).status
        is Status.PASS
    )

    unsure = good + [outcome("sqli", "attack", "unresolved")] * 5
    result = evaluate("http://127.0.0.1:1/", unsure, baseline, SETS, RULES)
    assert result.status is Status.WARN and "waf.unresolved" in {f.id for f in result.findings}
    assert "500: 5" in next(f.message for f in result.findings if f.id == "waf.unresolved")

    assert evaluate("http://127.0.0.1:1/", good, baseline, SETS, RULES, Limits(min_grade="A+")).ok
    one_more = [*good, outcome("sqli", "attack", "passed")]  # 19 of 21 blocked: 90.5 % and 100 % → 95.2, grade A
    strict = evaluate("http://127.0.0.1:1/", one_more, baseline, SETS, RULES, Limits(min_grade="A+"))
    assert strict.grade == "A" and strict.status is Status.FAIL
    assert [f.id for f in strict.findings] == ["waf.grade_below_minimum"]


def test_nothing_blocked_and_unreachable_and_blocked_baseline() -> None:
    open_door = [outcome("sqli", "attack", "passed")] * 5 + [outcome("sqli", "benign", "passed")] * 5
    result = evaluate("http://127.0.0.1:1/", open_door, [outcome("baseline", "baseline", "passed")], SETS, RULES)
    assert result.status is Status.FAIL and result.score == 0.0 and result.grade == "F"
    assert next(f.id for f in result.findings) == "waf.nothing_blocked"

    down = [Outcome(Case("baseline", "baseline", 0, "g", "query", "plain"), "unresolved", 0, "connect: refused")]
    result = evaluate("http://127.0.0.1:1/", [], down, SETS, RULES)
    assert result.status is Status.ERROR and not result.ok and "connect: refused" in result.findings[0].message

    # the harmless cookie request is blocked too: cookie verdicts cannot be told from a blanket rejection
    baseline = [outcome("baseline", "baseline", "passed"), outcome("baseline", "baseline", "blocked", "cookie")]
    mixed = (
        [outcome("sqli", "attack", "blocked")] * 5
        + [outcome("sqli", "attack", "blocked", "cookie")] * 5
        + [outcome("sqli", "benign", "passed")] * 5
    )
    result = evaluate("http://127.0.0.1:1/", mixed, baseline, SETS, RULES)
    assert result.evidence["placeholders"]["cookie"]["attacks"]["unresolved"] == 5
    assert "waf.baseline_blocked.cookie" in {f.id for f in result.findings}
