"""DNS facts → findings and a status (pure). Zonemaster's consistency tests, lame delegation, CAA, propagation.

Authoritative disagreement fails the check: it is the ground truth. Resolvers that still serve other answers
only warn unless propagation is required: they converge by themselves within the old TTL.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from greenflag.readiness.base import Finding, Severity, Status
from greenflag.readiness.dns.facts import RECORD_TYPES, DnsFacts, ServerView

__all__ = ["evaluate", "propagation_wait_s"]

__pure__ = True


def _groups(views: list[ServerView], key: Callable[[ServerView], Hashable]) -> dict[Hashable, list[str]]:
    out: dict[Hashable, list[str]] = {}
    for view in views:
        out.setdefault(key(view), []).append(view.server)
    return out


def _split(groups: dict[Hashable, list[str]], show: Callable[[Any], str]) -> str:
    return "; ".join(f"{show(value)} from {', '.join(servers)}" for value, servers in groups.items())


def propagation_wait_s(facts: DnsFacts) -> int:
    """The longest remaining TTL among resolver answers that differ from the authoritative ones: an upper bound on
    how long until every resolver asked has the current data (a cached negative answer waits for the SOA MINIMUM)."""
    wait = 0
    truth = _truth(facts)
    for view in facts.resolvers:
        for rdtype, answer in view.answers.items():
            if rdtype in truth and answer.error is None and answer.records != truth[rdtype]:
                wait = max(wait, answer.ttl or 0)
    return wait


def _truth(facts: DnsFacts) -> dict[str, tuple[str, ...]]:
    """The authoritative answer per type, when every responding authoritative server agrees."""
    out: dict[str, tuple[str, ...]] = {}
    live = [v for v in facts.authoritative if v.authoritative]
    for rdtype in RECORD_TYPES:
        answers = {v.answers[rdtype].records for v in live if rdtype in v.answers and v.answers[rdtype].error is None}
        if len(answers) == 1:
            out[rdtype] = answers.pop()
    return out


def _consistency(live: list[ServerView]) -> list[Finding]:
    findings: list[Finding] = []
    with_soa = [v for v in live if v.soa is not None]
    checks: tuple[tuple[str, str, Callable[[ServerView], Hashable], Callable[[Any], str]], ...] = (
        # Zonemaster CONSISTENCY01: the SOA serial is identical everywhere ("Accepted Serial Difference" = 0).
        ("dns.consistency.serial", "SOA serials differ (Zonemaster CONSISTENCY01)",
         lambda v: v.soa.serial if v.soa else None, str),
        # CONSISTENCY02: SOA RNAME identical.
        ("dns.consistency.rname", "SOA RNAME differs (Zonemaster CONSISTENCY02)",
         lambda v: v.soa.rname if v.soa else None, str),
        # CONSISTENCY03: SOA REFRESH, RETRY, EXPIRE, MINIMUM identical.
        ("dns.consistency.soa_timers", "SOA timers differ (Zonemaster CONSISTENCY03)",
         lambda v: v.soa.timers if v.soa else None, lambda t: "refresh/retry/expire/minimum " + "/".join(map(str, t))),
        # CONSISTENCY04: the NS set identical.
        ("dns.consistency.ns", "NS sets differ (Zonemaster CONSISTENCY04)", lambda v: v.ns,
         lambda ns: "{" + ", ".join(ns) + "}"),
    )  # fmt: skip
    for finding_id, what, key, show in checks:
        groups = _groups(with_soa, key)
        if len(groups) > 1:
            findings.append(Finding(finding_id, Severity.HIGH, f"{what}: {_split(groups, show)}",
                                    {"values": {show(k): v for k, v in groups.items()}}))  # fmt: skip
    for rdtype in RECORD_TYPES:
        answered = [v for v in live if rdtype in v.answers and v.answers[rdtype].error is None]
        groups = _groups(answered, lambda v, t=rdtype: v.answers[t].records)  # type: ignore[misc]
        if len(groups) > 1:
            findings.append(Finding(f"dns.consistency.{rdtype.lower()}", Severity.HIGH, f"authoritative servers "
                                    f"answer {rdtype} differently: {_split(groups, _records)}"))  # fmt: skip
    return findings


def _records(records: tuple[str, ...]) -> str:
    return "{" + ", ".join(records) + "}" if records else "no data"


def evaluate(facts: DnsFacts, *, require_caa: bool = False, require_propagation: bool = False
             ) -> tuple[Status, list[Finding]]:  # fmt: skip
    findings: list[Finding] = []
    live = [v for v in facts.authoritative if v.authoritative]
    if not live:
        reasons = "; ".join(f"{v.server}: {v.error or v.rcode}" for v in facts.authoritative) or "none found"
        return Status.ERROR, [Finding("dns.no_authoritative_answer", Severity.CRITICAL,
                                      f"no authoritative server answered for {facts.zone}: {reasons}")]  # fmt: skip
    for view in facts.authoritative:
        if not view.authoritative:
            label = f"{view.name} ({view.server})" if view.name else view.server
            why = view.error or (f"answers {view.rcode}" if view.rcode != "NOERROR" else "answers without the AA bit")
            findings.append(Finding("dns.lame_delegation", Severity.HIGH, f"lame delegation: {label} is listed for "
                                    f"{facts.zone} but is not authoritative for it ({why})",
                                    {"server": view.server}))  # fmt: skip
    findings += _consistency(live)
    if facts.delegation_ns and live[0].ns and set(facts.delegation_ns) != set(live[0].ns):
        findings.append(Finding("dns.consistency.delegation", Severity.HIGH, "the parent's NS set "
                                f"{_records(facts.delegation_ns)} differs from the zone's {_records(live[0].ns)}"))
    addresses = {v.server.rsplit(":", 1)[0] if v.server.count(":") == 1 else v.server for v in facts.authoritative}
    if len(live[0].ns) < 2 or len(addresses) < 2:
        findings.append(Finding("dns.ns.redundancy", Severity.MEDIUM, f"{facts.zone} has {len(live[0].ns)} NS "
                                f"name(s) on {len(addresses)} address(es); use at least two on separate networks"))
    if not facts.caa:
        findings.append(Finding("dns.caa.missing", Severity.HIGH if require_caa else Severity.MEDIUM,
                                f"no CAA record at {facts.name} or any parent up to {facts.zone}: any CA may issue "
                                f"certificates for it (RFC 8659); add e.g. {facts.zone} CAA 0 issue "
                                '"letsencrypt.org"'))
    elif not any(" iodef " in f" {r} " for r in facts.caa):
        findings.append(Finding("dns.caa.no_iodef", Severity.INFO, f"the CAA set at {facts.caa_owner} has no iodef "
                                "(where a CA reports refused requests)"))  # fmt: skip
    truth = _truth(facts)
    for view in facts.resolvers:
        for rdtype, answer in view.answers.items():
            if answer.error is not None:
                findings.append(Finding("dns.resolver.no_answer", Severity.MEDIUM,
                                        f"resolver {view.server}: no answer for {rdtype} ({answer.error})"))
            elif rdtype in truth and answer.records != truth[rdtype]:
                findings.append(Finding("dns.propagation.pending", Severity.HIGH if require_propagation else
                                        Severity.MEDIUM, f"resolver {view.server} answers {rdtype} "
                                        f"{_records(answer.records)}, the authoritative servers "
                                        f"{_records(truth[rdtype])} (cached for up to {answer.ttl or 0} s more)",
                                        {"resolver": view.server, "type": rdtype, "ttl": answer.ttl}))  # fmt: skip
    failing = {"dns.lame_delegation", "dns.consistency.delegation"}
    if any(f.severity in (Severity.HIGH, Severity.CRITICAL) and (f.id in failing or f.id.startswith(
            ("dns.consistency.", "dns.caa.", "dns.propagation."))) for f in findings):  # fmt: skip
        return Status.FAIL, findings
    if any(f.severity is not Severity.INFO for f in findings):
        return Status.WARN, findings
    return Status.PASS, findings
