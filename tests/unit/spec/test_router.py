"""`router:` is one model per kind: embedded keys keep working, each kind refuses the others' keys, a kind without
a driver is refused with one line naming `router.kind`, and commands are argument lists split at load time."""

from __future__ import annotations

from pathlib import Path

import pytest

from greenflag.config import load_spec
from greenflag.errors import ConfigError
from greenflag.spec import AlbRouterSpec, HAProxyRouterSpec, KubernetesRouterSpec, NginxRouterSpec, RouterSpec

HEAD = "service: shop\nplatform: {command: 'app --port {port}'}\nstrategy: {canary: {steps: [{set_weight: 10}]}}\n"
HAPROXY = "{kind: haproxy, socket: /run/haproxy/admin.sock, backend: app, servers: {blue: s_blue, green: s_green}}"
NGINX = (
    "{kind: nginx, upstream_file: /etc/nginx/conf.d/app-upstream.conf, upstream: app, "
    'servers: {blue: "10.0.0.5:8080", green: "10.0.0.6:8080"}, reload: "nginx -s reload", '
    "status_url: http://127.0.0.1:8080/greenflag/status}"
)


def load(tmp_path: Path, router: str | None) -> object:
    path = tmp_path / "greenflag.yaml"
    path.write_text(HEAD + ("" if router is None else f"router: {router}\n"))
    return load_spec(path).router


def problems(tmp_path: Path, router: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, router)
    assert info.value.exit_code == 2
    path = tmp_path / "greenflag.yaml"
    return [p.removeprefix(f"{path}:4: ") for p in info.value.problems]


def test_kind_absent_is_embedded_and_every_embedded_key_still_works(tmp_path: Path) -> None:
    assert load(tmp_path, None) == RouterSpec()
    old = (
        "{listen: 127.0.0.1:9000, admin: 127.0.0.1:9001, admin_token_file: t, backends: {blue: http://127.0.0.1:1},"
        " weights: {blue: 100}, sticky: true, route_header: X-Route, drain_timeout: 5s, connect_timeout: 1s,"
        " header_timeout: 3s}"
    )
    router = load(tmp_path, old)
    assert isinstance(router, RouterSpec) and router.kind == "embedded"
    assert (router.listen, router.sticky, router.drain_timeout, router.header_timeout) == ("127.0.0.1:9000", True, 5, 3)
    assert load(tmp_path, old.replace("{", "{kind: embedded, ", 1)) == router


def test_the_design_shapes_load(tmp_path: Path) -> None:
    haproxy = load(tmp_path, HAPROXY)
    assert isinstance(haproxy, HAProxyRouterSpec)
    assert (haproxy.socket, haproxy.backend, haproxy.servers) == (
        "/run/haproxy/admin.sock",
        "app",
        {"blue": "s_blue", "green": "s_green"},
    )
    assert haproxy.route_header == "X-Greenflag-Route" and haproxy.drain_timeout == 30.0  # shared keys
    nginx = load(tmp_path, NGINX)
    assert isinstance(nginx, NginxRouterSpec)
    assert nginx.reload == ["nginx", "-s", "reload"] and nginx.test == ["nginx", "-t"]
    assert nginx.servers == {"blue": "10.0.0.5:8080", "green": "10.0.0.6:8080"}


@pytest.mark.parametrize(
    ("router", "message"),
    [
        ("{kind: traefik}", "'traefik' is not a router kind; one of embedded, haproxy, nginx, alb, kubernetes"),
        ("{kind: [haproxy]}", "is not a router kind"),
    ],
)
def test_a_kind_without_a_driver_is_one_line_naming_router_kind(tmp_path: Path, router: str, message: str) -> None:
    found = problems(tmp_path, router)
    assert len(found) == 1 and found[0].startswith("router.kind: ") and message in found[0], found


def test_haproxy_without_its_keys_is_refused_not_run_as_embedded(tmp_path: Path) -> None:
    assert problems(tmp_path, "{kind: haproxy}") == [
        "router.socket: required key is missing",
        "router.backend: required key is missing",
        "router.servers: required key is missing",
    ]


@pytest.mark.parametrize(
    ("router", "expected"),
    [
        (HAPROXY.replace("}}", "}, listen_port: 80}"), "router.listen_port: unknown key"),
        (HAPROXY.replace("}}", "}, backends: {}}"), "router.backends: unknown key"),  # an embedded key
        (HAPROXY.replace("}}", "}, upstream_file: x}"), "router.upstream_file: unknown key"),  # an nginx key
        (NGINX.replace("{kind: nginx,", "{kind: nginx, socket: /x,"), "router.socket: unknown key"),  # haproxy's
        ("{listen: 127.0.0.1:1, socket: /run/h.sock}", "router.socket: unknown key"),
        ("{kind: embedded, options: {region: x}}", "router.options: unknown key"),
        (HAPROXY.replace("s_green}", "s_blue}"), "router.servers: two backends name the same server"),
        (HAPROXY.replace("s_green", "'s green'"), "router.servers: 's green': expected an HAProxy"),
        (HAPROXY.replace("{blue: s_blue, green: s_green}", "{}"), "router.servers: name at least one server"),
        (HAPROXY.replace("/run/haproxy/admin.sock", "localhost"), "router.socket: expected a unix socket path"),
        (HAPROXY.replace("/run/haproxy/admin.sock", "'/run/a b.sock'"), "router.socket: expected a unix socket path"),
        (HAPROXY.replace("}}", '}, route_map: "/etc/r.map\\nglobal"}'), "router.route_map: expected an absolute"),
        (HAPROXY.replace("}}", "}, route_map: 'r.map'}"), "router.route_map: expected an absolute path"),
        (HAPROXY.replace("}}", "}, weights: {red: 1}}"), "router.weights.red: not one of servers (blue, green)"),
        (NGINX.replace('"10.0.0.6:8080"', '"10.0.0.6"'), "router.servers: '10.0.0.6': expected HOST:PORT"),
        (NGINX.replace("upstream: app", "upstream: 'app; include /etc/passwd'"), "router.upstream: String should"),
        (NGINX.replace("http://127.0.0.1:8080/greenflag/status", "ftp://x"), "router.status_url: expected an http"),
        (
            NGINX.replace('"nginx -s reload"', '"nginx -s \'reload"'),
            "router.reload: \"nginx -s 'reload\": no closing quotation",
        ),
        (NGINX.replace('"nginx -s reload"', '""'), "router.reload: the command is empty"),
    ],
)
def test_keys_are_checked_per_kind_with_their_path(tmp_path: Path, router: str, expected: str) -> None:
    found = problems(tmp_path, router)
    assert any(p.startswith(expected) for p in found), found


def test_commands_are_split_once_at_load_and_never_run_by_a_shell(tmp_path: Path) -> None:
    router = load(tmp_path, NGINX.replace('"nginx -s reload"', "\"nginx -s reload -p '/srv/my nginx/' ; rm -rf x\""))
    assert isinstance(router, NginxRouterSpec)
    assert router.reload == ["nginx", "-s", "reload", "-p", "/srv/my nginx/", ";", "rm", "-rf", "x"]
    listed = load(tmp_path, NGINX.replace('"nginx -s reload"', "[systemctl, reload, nginx]"))
    assert isinstance(listed, NginxRouterSpec) and listed.reload == ["systemctl", "reload", "nginx"]


def test_the_embedded_router_refuses_to_run_in_place_of_another_kind(tmp_path: Path) -> None:
    from greenflag.traffic.embedded.server import EmbeddedRouter

    haproxy = load(tmp_path, HAPROXY)
    with pytest.raises(ValueError, match=r"router\.kind is 'haproxy': the embedded router needs kind embedded"):
        EmbeddedRouter(haproxy)  # type: ignore[arg-type]


ALB = ("{kind: alb, region: eu-west-1, listener_arn: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/"
       "shop/50dc6c495c0c9188/f2f7dc8efc522ab2', target_groups: {blue: tg-b, green: tg-g}}")  # fmt: skip
K8S = "{kind: kubernetes, namespace: shop, httproute: web}"


def test_the_cloud_shapes_load(tmp_path: Path) -> None:
    alb = load(tmp_path, ALB)
    assert isinstance(alb, AlbRouterSpec) and alb.target_groups == {"blue": "tg-b", "green": "tg-g"}
    assert alb.test_listener_arn is None and alb.timeout == 10.0
    route = load(tmp_path, K8S)
    assert isinstance(route, KubernetesRouterSpec) and (route.httproute, route.service) == ("web", None)
    service = load(tmp_path, "{kind: kubernetes, namespace: shop, service: web, backends: {blue: v1.2}}")
    assert isinstance(service, KubernetesRouterSpec) and service.selector_label == "version"


@pytest.mark.parametrize(
    ("router", "expected"),
    [
        ("{kind: alb}", "router.region: required key is missing"),
        (ALB.replace("}}", "}, socket: /x}"), "router.socket: unknown key"),
        (ALB.replace("}}", "}, weights: {red: 1}}"), "router.weights.red: not one of target_groups (blue, green)"),
        (ALB.replace("tg-g", "tg-b"), "router.target_groups: two backends name the same target group"),
        (ALB.replace("}}", "}, url: 'shop.example.com'}"), "router.url: expected an http:// or https:// URL"),
        (ALB.replace("}}", "}, test_rule_arn: x}"), "router: test_rule_arn needs test_listener_arn"),
        ("{kind: kubernetes, namespace: shop}", "router: give exactly one of httproute (weights) or service"),
        ("{kind: kubernetes, namespace: Shop_1, service: web}", "router.namespace: expected a Kubernetes namespace"),
        (K8S.replace("web", "'web; rm'"), "router.httproute: expected a Kubernetes object name"),
        (K8S.replace("}", ", backends: {blue: 'web blue'}}"), "router.backends: blue: 'web blue' is not a Service"),
        (K8S.replace("}", ", backends: {blue: a, green: a}}"), "router.backends: two backends name the same Service"),
        ("{kind: kubernetes, namespace: s, service: w, selector_label: 'a b'}", "router.selector_label: expected a"),
    ],
)
def test_cloud_keys_are_checked_with_their_path(tmp_path: Path, router: str, expected: str) -> None:
    found = problems(tmp_path, router)
    assert any(p.startswith(expected) for p in found), found
