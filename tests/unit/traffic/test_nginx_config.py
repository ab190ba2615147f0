"""What `greenflag router nginx-config` prints (nginx itself checks and runs it in the integration tests)."""

from __future__ import annotations

import pytest

from greenflag.spec import NginxRouterSpec
from greenflag.traffic.nginx_config import render_nginx_config


def spec(**changes: object) -> NginxRouterSpec:
    base = {"kind": "nginx", "upstream_file": "/etc/nginx/app-upstream.conf", "upstream": "app",
            "servers": {"blue": "127.0.0.1:9001"}, "status_url": "http://127.0.0.1:8000/greenflag/status"}  # fmt: skip
    return NginxRouterSpec.model_validate({**base, **changes})


def test_one_server_holds_traffic_and_the_status_location() -> None:
    text = render_nginx_config(spec(drain_timeout="45s"), listen="127.0.0.1:8000")
    assert "    include /etc/nginx/app-upstream.conf;" in text
    assert "proxy_pass http://$greenflag_app_upstream;" in text and 'proxy_set_header Connection "";' in text
    assert "location = /greenflag/status {" in text and "return 200 $greenflag_app_generation;" in text
    assert text.count("server {") == 1 and "worker_shutdown_timeout 45s;" in text
    assert "log_format" not in text  # no access_log: no stats, no log format


def test_a_status_address_of_its_own_and_the_access_log() -> None:
    text = render_nginx_config(
        spec(status_url="http://127.0.0.1:8081/s", access_log="/var/log/nginx/app.json"), listen="127.0.0.1:8000"
    )
    assert text.count("server {") == 2 and "listen 127.0.0.1:8081;" in text and "location = /s {" in text
    assert "log_format greenflag_json escape=json" in text
    assert "access_log /var/log/nginx/app.json greenflag_json;" in text


@pytest.mark.parametrize(
    ("changes", "options"),
    [
        ({"upstream_file": "/etc/nginx/a b.conf"}, {}),
        ({"access_log": "/var/log/x;include /etc/passwd"}, {}),
        ({"status_url": "http://127.0.0.1:1/s;x"}, {}),
        ({}, {"pid": "/run/n.pid\nuser root"}),
        ({}, {"workers": "1; user root"}),
    ],
)
def test_what_nginx_conf_cannot_hold_safely_is_refused(changes: dict[str, object], options: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        render_nginx_config(spec(**changes), **options)
