"""What the docs harness changes in a documented command before running it, and nothing else (pure):

- **ports**: every documented port (`127.0.0.1:8080`, `localhost:8000`, `--port 9001`, `port=8080`, …) becomes a
  free ephemeral port, the same one for the same number everywhere in the page and in the files it uses;
- **durations**: a foreground `--duration` (or `-d`) longer than MAX_DURATION_S runs for MAX_DURATION_S (an
  `analysis run`, which must gather its evidence from live traffic however busy the machine: ANALYSIS_DURATION_S).

`foreign_addresses` finds what a block must never reach: any host that is not loopback.
"""

from __future__ import annotations

import re
from collections.abc import Callable

__all__ = ["ANALYSIS_DURATION_S", "MAX_DURATION_S", "PortMap", "cap_durations", "foreign_addresses", "rewrite_ports"]

MAX_DURATION_S = 5.0
# The built-in rules decide after about 150 clean canary requests: seconds on an idle machine, but a starved load
# generator (the docs jobs run side by side with the rest of CI) sent too few in 5 s and the run ended Inconclusive.
ANALYSIS_DURATION_S = 15.0
_ANALYSIS = re.compile(r"\banalysis\s+run\b")

_PORT_FORMS = [
    re.compile(r"(?P<pre>(?:127\.0\.0\.1|localhost|0\.0\.0\.0|\[::1\]):)(?P<port>\d{2,5})\b"),
    re.compile(r"(?P<pre>--port[ =])(?P<port>\d{2,5})\b"),
    re.compile(r"(?P<pre>\bport=)(?P<port>\d{2,5})\b"),
]
_DURATION = re.compile(r"(?P<pre>(?:--duration|-d)[ =])(?P<value>(?:\d+(?:\.\d+)?(?:ms|s|m|h))+)(?=[\s'\"]|$)")
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_URL_HOST = re.compile(r"\b(?:https?|tcp|wss?)://(?P<host>\[[^\]]*\]|[^/\s:'\"`)]+)", re.I)
_IPV4 = re.compile(r"(?<![\d.])(?P<ip>\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})(?![\d.])")
_DOMAIN = re.compile(
    r"(?<![\w@./-])(?P<host>(?:[a-z0-9-]+\.)+(?:com|org|net|io|dev|app|cloud|example|co|uk|de|fr|eu|info|biz))\b",
    re.I,
)
_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "[::1]", "0.0.0.0"}


class PortMap:
    """Documented port → ephemeral port, allocated on first sight with `allocate` (a free-port function)."""

    def __init__(self, allocate: Callable[[], int]) -> None:
        self._allocate = allocate
        self.ports: dict[int, int] = {}

    def __call__(self, documented: int) -> int:
        if documented == 0:
            return 0
        if documented not in self.ports:
            taken = set(self.ports.values())
            port = self._allocate()
            while port in taken:
                port = self._allocate()
            self.ports[documented] = port
        return self.ports[documented]


def rewrite_ports(text: str, ports: PortMap) -> str:
    for form in _PORT_FORMS:
        text = form.sub(lambda m: f"{m.group('pre')}{ports(int(m.group('port')))}", text)
    return text


def _seconds(value: str) -> float:
    return sum(float(n) * _UNIT_S[u] for n, u in re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", value))


def cap_durations(code: str) -> str:
    """`--duration 30s` → `--duration 5s` (longer than MAX_DURATION_S only; ANALYSIS_DURATION_S for `analysis run`)."""
    limit = ANALYSIS_DURATION_S if _ANALYSIS.search(code) else MAX_DURATION_S

    def cap(match: re.Match[str]) -> str:
        if _seconds(match.group("value")) <= limit:
            return match.group(0)
        return f"{match.group('pre')}{limit:g}s"

    return _DURATION.sub(cap, code)


def foreign_addresses(text: str, names: bool = True) -> list[str]:
    """Hosts in `text` that are not loopback: in URLs, IPv4 literals and (with `names`) bare domain names."""
    found: list[str] = []
    for match in _URL_HOST.finditer(text):
        host = match.group("host").lower()
        if host not in _LOOPBACK_HOSTS and not host.startswith("127.") and "{" not in host:
            found.append(host)
    for match in _IPV4.finditer(text):
        ip = match.group("ip")
        if not ip.startswith("127.") and ip != "0.0.0.0":
            found.append(ip)
    for match in _DOMAIN.finditer(text if names else ""):
        found.append(match.group("host").lower())
    return sorted(set(found))
