"""Where the router may send traffic and where its admin API may listen (pure decisions).

The link-local, metadata, private and public addresses below are strings these checks refuse or accept; nothing
in this file opens a socket, and no traffic is ever sent to any of them.
"""

from __future__ import annotations

import pytest

from greenflag.traffic.embedded.policy import (
    MIN_EXPOSED_TOKEN,
    BackendPolicy,
    admin_exposure_problem,
    is_loopback_host,
    never_a_backend,
    parse_networks,
)

NEVER = [
    "169.254.169.254", "169.254.170.2", "169.254.0.1", "fe80::1", "fe80::1%eth0", "fd00:ec2::254", "100.100.100.200",
    "::ffff:169.254.169.254", "64:ff9b::a9fe:a9fe", "2002:a9fe:a9fe::1", "0.0.0.0", "::", "0.1.2.3", "224.0.0.1",
    "ff02::1", "255.255.255.255",
]  # fmt: skip


@pytest.mark.parametrize("address", NEVER)
def test_never_a_backend_whatever_the_allow_list(address: str) -> None:
    assert never_a_backend(address) is not None
    with pytest.raises(ValueError, match="never a backend"):
        BackendPolicy.build(["0.0.0.0/0", "::/0"]).check(address, [address])


@pytest.mark.parametrize("host", ["metadata.google.internal", "METADATA.GOOGLE.INTERNAL.", "metadata.goog", "metadata"])
def test_metadata_hostnames_are_refused_by_name(host: str) -> None:
    with pytest.raises(ValueError, match="metadata"):
        BackendPolicy.check_name(host)
    with pytest.raises(ValueError, match="metadata"):
        BackendPolicy.build(["0.0.0.0/0"]).check(host, ["127.0.0.1"])


def test_a_hostname_is_judged_by_every_address_it_resolves_to() -> None:
    policy = BackendPolicy.build()
    policy.check("localhost", ["127.0.0.1", "::1"])
    with pytest.raises(ValueError, match=r"link-local.*rebind\.example resolves to it"):
        policy.check("rebind.example", ["127.0.0.1", "169.254.169.254"])
    with pytest.raises(ValueError, match="no address"):
        policy.check("nothing.example", [])


def test_default_allow_list_is_loopback_and_the_configured_backends() -> None:
    policy = BackendPolicy.build(configured=["10.0.0.5", "2001:db8::5"])
    for ok in ("127.0.0.1", "127.9.9.9", "::1", "::ffff:127.0.0.1", "10.0.0.5", "2001:db8::5"):
        policy.check(ok, [ok])
    for refused in ("10.0.0.6", "192.168.1.1", "172.16.0.1", "8.8.8.8", "2001:db8::6", "fc00::1"):
        with pytest.raises(ValueError, match="outside the allowed backend addresses"):
            policy.check(refused, [refused])


def test_allow_more_with_networks_and_names() -> None:
    policy = BackendPolicy.build(["private", "203.0.113.7"])
    for ok in ("10.1.2.3", "172.31.255.1", "192.168.0.9", "fd12::1", "203.0.113.7"):
        policy.check(ok, [ok])
    with pytest.raises(ValueError):
        policy.check("203.0.113.8", ["203.0.113.8"])
    assert len(parse_networks(["loopback", "10.0.0.0/8", "10.0.0.1/8"])) == 4  # host bits are tolerated
    with pytest.raises(ValueError, match=r"'10\.0\.0\.0/33'"):
        parse_networks(["10.0.0.0/33"])


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost", "LOCALHOST"])
def test_loopback_admin_needs_nothing_more(host: str) -> None:
    assert is_loopback_host(host)
    assert admin_exposure_problem(host, "short", 0o100644) is None


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.0.0.2", "example.internal", ""])
def test_admin_beyond_loopback_needs_a_long_private_token(host: str) -> None:
    strong = "x" * MIN_EXPOSED_TOKEN
    problem = admin_exposure_problem(host, strong[:-1], 0o100600)
    assert problem is not None and f"{MIN_EXPOSED_TOKEN - 1} characters" in problem
    assert admin_exposure_problem(host, strong, 0o100600) is None
    assert admin_exposure_problem(host, strong, None) is None  # a token given in code, not from a file
    for mode in (0o100644, 0o100604, 0o100640, 0o100620, 0o100602):
        problem = admin_exposure_problem(host, strong, mode)
        assert problem is not None and "chmod 600" in problem
