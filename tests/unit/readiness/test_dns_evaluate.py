"""The DNS verdict as a pure function of what the servers said."""

from __future__ import annotations

from dataclasses import replace

from greenflag.readiness.dns.evaluate import evaluate, propagation_wait_s
from greenflag.readiness.dns.facts import Answer, DnsFacts, ServerView, Soa

SOA = Soa(2024010101, "ns1.example.test.", "hostmaster.example.test.", 3600, 600, 86400, 300, 300)
NS = ("ns1.example.test.", "ns2.example.test.")
A = {"A": Answer(("192.0.2.10",), 300), "AAAA": Answer(()), "CNAME": Answer(()),
     "CAA": Answer(('0 issue "letsencrypt.org"',), 300)}  # fmt: skip


def view(server: str, **kw: object) -> ServerView:
    base = ServerView(server, "authoritative", None, True, "NOERROR", None, SOA, NS, dict(A))
    return replace(base, **kw)  # type: ignore[arg-type]


def facts(*views: ServerView, resolvers: tuple[ServerView, ...] = (), caa: bool = True) -> DnsFacts:
    return DnsFacts("www.example.test.", "example.test.", "given", views, resolvers,
                    "example.test." if caa else None, ('0 iodef "mailto:x@example.test"', '0 issue "ca.example"')
                    if caa else ())  # fmt: skip


def ids(result: tuple[object, list[object]]) -> set[str]:
    return {f.id for f in result[1]}  # type: ignore[attr-defined]


def test_consistent_passes() -> None:
    status, found = evaluate(facts(view("192.0.2.1"), view("192.0.2.2")))
    assert str(status) == "pass" and found == []


def test_each_zonemaster_consistency_test() -> None:
    cases = {
        "dns.consistency.serial": {"soa": replace(SOA, serial=2024010102)},
        "dns.consistency.rname": {"soa": replace(SOA, rname="admin.example.test.")},
        "dns.consistency.soa_timers": {"soa": replace(SOA, retry=900)},
        "dns.consistency.ns": {"ns": (*NS, "ns3.example.test.")},
        "dns.consistency.a": {"answers": {**A, "A": Answer(("192.0.2.99",), 300)}},
    }
    for finding, change in cases.items():
        status, found = evaluate(facts(view("192.0.2.1"), view("192.0.2.2", **change)))
        assert str(status) == "fail" and {f.id for f in found} == {finding}, finding


def test_lame_and_unreachable_servers() -> None:
    result = evaluate(facts(view("192.0.2.1"), view("192.0.2.2"), view("192.0.2.3", authoritative=False,
                                                                      rcode="REFUSED", soa=None)))  # fmt: skip
    assert str(result[0]) == "fail" and ids(result) == {"dns.lame_delegation"}
    status, found = evaluate(facts(view("192.0.2.1", authoritative=False, error="Timeout")))
    assert str(status) == "error" and found[0].id == "dns.no_authoritative_answer"


def test_single_server_and_missing_caa_warn() -> None:
    result = evaluate(facts(view("192.0.2.1"), caa=False))
    assert str(result[0]) == "warn" and ids(result) == {"dns.ns.redundancy", "dns.caa.missing"}
    assert str(evaluate(facts(view("192.0.2.1"), view("192.0.2.2"), caa=False), require_caa=True)[0]) == "fail"


def test_propagation_and_wait() -> None:
    stale = ServerView("198.51.100.53", "resolver", answers={"A": Answer(("192.0.2.9",), 120)})
    fresh = ServerView("198.51.100.54", "resolver", answers={"A": Answer(("192.0.2.10",), 300)})
    given = facts(view("192.0.2.1"), view("192.0.2.2"), resolvers=(stale, fresh))
    status, found = evaluate(given)
    assert str(status) == "warn" and [f.evidence["resolver"] for f in found] == ["198.51.100.53"]
    assert propagation_wait_s(given) == 120
    assert str(evaluate(given, require_propagation=True)[0]) == "fail"
