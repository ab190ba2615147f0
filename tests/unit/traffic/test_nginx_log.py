"""nginx's JSON access log lines become per-backend requests: the upstream that answered, transport errors, nginx's
own answers left out; reading is incremental, from the end at first, and survives rotation."""

from __future__ import annotations

from pathlib import Path

import pytest

from greenflag.traffic.nginx_log import AccessLog, parse_line

NOW = 1_700_000_000.0


def line(addr: str = "127.0.0.1:9001", status: int = 200, header: str = "0.001", t: float = NOW) -> bytes:
    return (f'{{"t":{t},"a":"{addr}","s":{status},"h":"{header}","r":0.004}}').encode()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (line(), (NOW, "127.0.0.1:9001", 200, False, 4.0)),
        (line("127.0.0.1:9002, 127.0.0.1:9001", header="-, 0.001"), (NOW, "127.0.0.1:9001", 200, False, 4.0)),
        (line("127.0.0.1:9001", 502, "-"), (NOW, "127.0.0.1:9001", 502, True, 4.0)),  # no answer came
        (line("127.0.0.1:9001 : 127.0.0.1:9002"), (NOW, "127.0.0.1:9002", 200, False, 4.0)),
        (line("-", 404), None),  # nginx answered itself
        (line("app", 502), None),  # "no live upstreams": the upstream's name, no server
        (b"not json", None),
        (b'{"t":1}', None),
    ],
)
def test_parse_line(raw: bytes, expected: object) -> None:
    assert parse_line(raw) == expected


def test_reads_incrementally_from_the_end_and_after_rotation(tmp_path: Path) -> None:
    path = tmp_path / "access.log"
    path.write_bytes(line() + b"\n" + line() + b"\n")  # before the driver: not counted
    log = AccessLog(path, clock=lambda: NOW + 0.5)
    owners = {"127.0.0.1:9001": "v1", "127.0.0.1:9002": "v2"}.get
    assert log.read(owners) == 0
    with open(path, "ab") as fh:
        fh.write(line() + b"\n" + line("127.0.0.1:9002", 500) + b"\n" + line("10.0.0.1:1") + b"\n" + line()[:10])
    assert log.read(owners) == 2  # the unknown address is nobody's; the half line waits
    with open(path, "ab") as fh:
        fh.write(line()[10:] + b"\n")
    assert log.read(owners) == 1
    path.rename(tmp_path / "access.log.1")  # logrotate
    path.write_bytes(line("127.0.0.1:9002", 503, "-") + b"\n")
    assert log.read(owners) == 1
    windows = log.windows(["v1", "v2", "v3"], 10)
    assert (windows["v1"].requests, windows["v1"].errors) == (2, 0)
    assert (windows["v2"].requests, windows["v2"].errors, windows["v2"].transport_errors) == (2, 2, 1)
    assert windows["v3"].requests == 0 and windows["v1"].p50_ms == pytest.approx(4.0, rel=0.01)
