"""What `greenflag router haproxy-config` prints (HAProxy itself checks and runs it in the integration tests)."""

from __future__ import annotations

from greenflag.spec import HAProxyRouterSpec
from greenflag.traffic.haproxy_config import render_haproxy_config


def spec(**changes: object) -> HAProxyRouterSpec:
    base = {"kind": "haproxy", "socket": "/run/haproxy/admin.sock", "backend": "app",
            "servers": {"blue": "s_blue", "green": "s_green"}}  # fmt: skip
    return HAProxyRouterSpec.model_validate({**base, **changes})


def test_slots_runtime_api_and_the_retry_settings() -> None:
    text = render_haproxy_config(spec(), listen="127.0.0.1:8000", addresses={"blue": "127.0.0.1:9001"})
    assert "    stats socket /run/haproxy/admin.sock mode 600 level admin\n" in text
    assert "    bind 127.0.0.1:8000\n" in text
    assert "    server s_blue 127.0.0.1:9001 weight 100  # blue\n" in text
    assert "    server s_green 0.0.0.0:0 weight 0 disabled  # green: no version yet\n" in text
    assert "option redispatch 1" in text and "retry-on conn-failure empty-response" in text
    assert "slowstart 5000ms" in text and "use-server" not in text  # no route map: no header route


def test_a_tcp_runtime_api_the_route_map_and_the_spec_weights() -> None:
    text = render_haproxy_config(
        spec(socket="127.0.0.1:9999", route_map="/etc/haproxy/routes.map", weights={"green": 100}),
        addresses={"blue": "127.0.0.1:1", "green": "127.0.0.1:2"},
        check_path="/healthz/ready",
        slowstart_s=0,
    )
    assert "stats socket ipv4@127.0.0.1:9999 level admin" in text
    assert "server s_blue 127.0.0.1:1 weight 0" in text and "server s_green 127.0.0.1:2 weight 100" in text
    assert "use-server s_green if { req.hdr(X-Greenflag-Route) -m found } { str(*),map(/etc/haproxy/routes.map)" in text
    assert "use-server s_blue if { req.hdr(X-Greenflag-Route),map(/etc/haproxy/routes.map) -m str s_blue }" in text
    assert "option httpchk GET /healthz/ready" in text and "slowstart 0ms" in text
