"""What each DNS server said, as plain data: the input of the (pure) evaluation and the JSON evidence."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["RECORD_TYPES", "Answer", "DnsFacts", "ServerView", "Soa"]

__pure__ = True

RECORD_TYPES = ("A", "AAAA", "CNAME", "CAA")


@dataclass(frozen=True)
class Soa:
    serial: int
    mname: str
    rname: str
    refresh: int
    retry: int
    expire: int
    minimum: int
    ttl: int

    @property
    def timers(self) -> tuple[int, int, int, int]:
        return self.refresh, self.retry, self.expire, self.minimum


@dataclass(frozen=True)
class Answer:
    records: tuple[str, ...]  # sorted rdata text; () = no data
    ttl: int | None = None
    rcode: str = "NOERROR"  # "NXDOMAIN", "SERVFAIL", ...
    error: str | None = None  # no answer at all (timeout, refused connection)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"records": list(self.records), "ttl": self.ttl, "rcode": self.rcode}
        if self.error:
            out["error"] = self.error
        return out


@dataclass(frozen=True)
class ServerView:
    """One server's answers: an authoritative server (asked without recursion) or a resolver."""

    server: str  # "IP" or "IP:PORT"
    role: str  # "authoritative" or "resolver"
    name: str | None = None  # the NS host name it was found under, when known
    authoritative: bool = False  # AA bit on the SOA answer
    rcode: str = "NOERROR"
    error: str | None = None  # no usable answer to the SOA query
    soa: Soa | None = None
    ns: tuple[str, ...] = ()
    answers: dict[str, Answer] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"server": self.server, "role": self.role, "name": self.name, "authoritative": self.authoritative,
                "rcode": self.rcode, "error": self.error, "soa": self.soa.__dict__ if self.soa else None,
                "ns": list(self.ns), "answers": {k: v.to_json() for k, v in self.answers.items()}}  # fmt: skip


@dataclass(frozen=True)
class DnsFacts:
    name: str
    zone: str
    discovery: str  # how the authoritative servers were found
    authoritative: tuple[ServerView, ...]
    resolvers: tuple[ServerView, ...] = ()
    caa_owner: str | None = None  # the name whose CAA set applies (RFC 8659 §3), None when none was found
    caa: tuple[str, ...] = ()
    delegation_ns: tuple[str, ...] = ()  # the parent's NS set, when it could be asked

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "zone": self.zone, "discovery": self.discovery,
                "authoritative": [v.to_json() for v in self.authoritative],
                "resolvers": [v.to_json() for v in self.resolvers], "caa_owner": self.caa_owner,
                "caa": list(self.caa), "delegation_ns": list(self.delegation_ns)}  # fmt: skip
