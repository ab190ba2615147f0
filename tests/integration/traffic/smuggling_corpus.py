"""The HTTP request-smuggling corpus (tests/data/http-smuggling): load it, send each case through a proxy in front
of a `StrictBackend`, and judge the outcome against the case's `expect` (SOURCES.md defines each kind).

Each case is sent from its own loopback address (127.1.x.y), so the backend can tell whose request it parsed by the
X-Forwarded-For the proxy adds; a request without it (one the proxy did not frame) belongs to the request before it
on the same backend connection. A request the backend parsed whose `X-Seq` answer never reached that client is a
smuggled request. Used by tests/integration/traffic/test_router_smuggling.py and bench/router/smuggling.py (which
runs greenflag, HAProxy and nginx through it).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from tests.integration.traffic.strict_backend import BackendError, Recorded, StrictBackend

__all__ = ["CORPUS", "Case", "Outcome", "attribute", "judge", "load_cases", "run_corpus", "settle"]

CORPUS = Path(__file__).resolve().parents[2] / "data" / "http-smuggling" / "cases.json"
ANSWER_WITHIN = 5.0  # every case: a status line or a close within this
QUIET = 0.5  # after an answer, and once every backend request of the case is answered: stop reading after this

_STATUS = re.compile(rb"HTTP/1\.[01] (\d{3}) ")
_SEQ = re.compile(rb"\r\nX-Seq: *(\d+)\r\n", re.I)


@dataclass(frozen=True)
class Case:
    id: str
    category: str
    expect: str  # nosmuggle | refuse | serve:N | answer
    parts: tuple[bytes, ...]
    note: str = ""

    @property
    def kind(self) -> str:
        return self.expect.split(":", 1)[0]


@dataclass
class Outcome:
    case: Case
    ip: str
    received: bytes = b""
    closed: bool = False
    first_s: float | None = None  # last write → first byte or close (None: neither within ANSWER_WITHIN)
    error: str | None = None

    @property
    def statuses(self) -> list[int]:
        return [int(m.group(1)) for m in _STATUS.finditer(self.received) if int(m.group(1)) >= 200]

    @property
    def seqs(self) -> set[int]:
        return {int(m.group(1)) for m in _SEQ.finditer(self.received)}


def load_cases(path: Path = CORPUS) -> list[Case]:
    cases = []
    for i, raw in enumerate(json.loads(path.read_text())):
        parts = tuple(bytes.fromhex(p) for p in raw.get("parts_hex") or [raw["hex"]])
        cases.append(Case(f"{raw['id']}#{i}", raw["category"], raw["expect"], parts, raw.get("note", "")))
    return cases


def case_ip(index: int) -> str:
    return f"127.1.{index // 250}.{index % 250 + 1}"


def attribute(requests: Iterable[Recorded], ips: set[str]) -> dict[str | None, list[Recorded]]:
    """Backend requests by the client address they came from; unframed ones go to the one before on their
    connection (None when there is none)."""
    owner_of_conn: dict[int, str] = {}
    out: dict[str | None, list[Recorded]] = {}
    for r in sorted(requests, key=lambda r: r.seq):
        if r.xff in ips:
            owner: str | None = r.xff
            owner_of_conn[r.conn] = r.xff
        else:
            owner = owner_of_conn.get(r.conn)
        out.setdefault(owner, []).append(r)
    return out


def judge(outcome: Outcome, requests: list[Recorded], errors: list[BackendError]) -> str | None:
    """None when the case passed, else why it failed. `requests` / `errors`: the backend's, for this case."""
    kind = outcome.case.kind
    answered = outcome.seqs
    if outcome.error is not None:
        return outcome.error
    lost = [r for r in requests if r.seq not in answered]
    if lost:
        r = lost[0]
        return f"smuggled: backend parsed {r.method.decode()} {r.target.decode(errors='replace')} (no answer)"
    foreign = answered - {r.seq for r in requests}
    if foreign:
        return f"got the answer to another client's request (X-Seq {sorted(foreign)})"
    if outcome.first_s is None:
        return f"no answer or close within {ANSWER_WITHIN:g} s"
    statuses = outcome.statuses
    if kind == "refuse":
        if not statuses or not 400 <= statuses[0] < 500:
            return f"not refused (statuses {statuses})"
        if requests or errors:
            return "refused, but bytes reached the backend"
    if kind == "serve":
        n = int(outcome.case.expect.split(":", 1)[1])
        if statuses.count(200) != n or len(requests) != n:
            return f"expected {n} answers of 200 and {n} backend requests: {statuses}, {len(requests)}"
    return None


async def _read_case(
    case: Case, ip: str, reader: asyncio.StreamReader, backend: StrictBackend, t0: float
) -> tuple[bytes, bool, float | None]:
    loop = asyncio.get_running_loop()
    received = b""
    first: float | None = None
    cap = t0 + ANSWER_WITHIN

    def settled() -> bool:
        seqs = {int(m.group(1)) for m in _SEQ.finditer(received)}
        mine = attribute(backend.requests, {ip}).get(ip, [])
        return all(r.seq in seqs for r in mine)

    while True:
        now = loop.time()
        if first is not None and settled():
            timeout = QUIET
        elif now >= cap:
            return received, False, first
        else:
            timeout = cap - now if first is None else min(QUIET, cap - now)
        try:
            data = await asyncio.wait_for(reader.read(65536), timeout)
        except TimeoutError:
            if first is not None and settled():
                return received, False, first
            continue
        except ConnectionError:
            data = b""
        if first is None:
            first = loop.time() - t0
        if not data:
            return received, True, first
        received += data


async def run_case(case: Case, ip: str, host: str, port: int, backend: StrictBackend) -> Outcome:
    outcome = Outcome(case, ip)
    loop = asyncio.get_running_loop()
    try:
        reader, writer = await asyncio.open_connection(host, port, local_addr=(ip, 0))
    except OSError as exc:
        outcome.error = f"connect failed: {exc}"
        return outcome
    try:
        for i, part in enumerate(case.parts):
            if i:  # two writes: the second once the first reached the backend (or after 1 s)
                deadline = loop.time() + 1.0
                while loop.time() < deadline and ip not in attribute(backend.requests, {ip}):
                    await asyncio.sleep(0.01)
            writer.write(part)
            with contextlib.suppress(ConnectionError):
                await writer.drain()
        outcome.received, outcome.closed, outcome.first_s = await _read_case(case, ip, reader, backend, loop.time())
    except ConnectionError as exc:
        outcome.error = f"connection error: {exc!r}"
    finally:
        writer.close()
    return outcome


async def settle(backend: StrictBackend, quiet: float = 0.2, timeout: float = 5.0) -> None:
    """Wait until the backend has seen nothing new for `quiet` seconds (bytes still on their way arrive)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last = (backend.bytes_received, len(backend.requests))
    since = loop.time()
    while loop.time() < deadline:
        await asyncio.sleep(0.02)
        now = (backend.bytes_received, len(backend.requests))
        if now != last:
            last, since = now, loop.time()
        elif loop.time() - since >= quiet:
            return


async def run_corpus(
    cases: list[Case], host: str, port: int, backend: StrictBackend, batch: int = 40
) -> list[tuple[Outcome, str | None]]:
    """Every case through the proxy at host:port (in concurrent batches), judged once the backend is quiet."""
    ips = [case_ip(i) for i in range(len(cases))]
    outcomes: list[Outcome] = []
    for i in range(0, len(cases), batch):
        pairs = zip(cases[i : i + batch], ips[i : i + batch], strict=True)
        outcomes += await asyncio.gather(*(run_case(c, ip, host, port, backend) for c, ip in pairs))
    await settle(backend)
    owners = attribute(backend.requests, set(ips))
    errors: dict[str | None, list[BackendError]] = {}
    for e in backend.errors:
        errors.setdefault(e.xff, []).append(e)
    results = [(o, judge(o, owners.get(o.ip, []), errors.get(o.ip, []))) for o in outcomes]
    for r in owners.get(None, []):  # parsed, and no client to give it to: blame nobody, fail loudly
        results.append((Outcome(Case("unattributed", "-", "nosmuggle", ()), "-"), f"unattributed request {r}"))
    return results
