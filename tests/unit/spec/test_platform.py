"""`platform:` is a union by kind: each kind's keys, one line naming file, line and key path for anything else.
The 10.0.0.x slot addresses are only strings the loader checks: nothing is sent to them."""

from __future__ import annotations

from pathlib import Path

import pytest

from greenflag.config import load_spec
from greenflag.errors import ConfigError
from greenflag.spec import (
    CommandPlatformSpec,
    KubernetesPlatformSpec,
    PlatformSpec,
    SlotsPlatformSpec,
    Spec,
)

HEAD = "service: shop\nstrategy: {blue_green: {}}\nplatform:\n"


def load(tmp_path: Path, platform: str) -> Spec:
    path = tmp_path / "greenflag.yaml"
    path.write_text(HEAD + platform)
    return load_spec(path)


def problems(tmp_path: Path, platform: str) -> str:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, platform)
    assert info.value.exit_code == 2
    return "\n".join(info.value.problems)


def test_kind_absent_is_the_process_platform(tmp_path: Path) -> None:
    spec = load(tmp_path, "  command: app --port {port}\n")
    assert isinstance(spec.platform, PlatformSpec) and spec.platform.kind == "process"


def test_slots(tmp_path: Path) -> None:
    spec = load(tmp_path, """\
  kind: slots
  slots:
    blue: http://10.0.0.5:8080
    green: {address: "http://10.0.0.6:8080/", targets: ["i-0abc:8080"]}
  deploy: ansible-playbook -i inventory/{slot} site.yml -e "version={version} host={address}"
  stop: [systemctl, --host, "{address}", stop, shop]
  deploy_timeout: 15m
""")
    platform = spec.platform
    assert isinstance(platform, SlotsPlatformSpec)
    assert platform.slots["blue"].address == "http://10.0.0.5:8080"
    assert platform.slots["green"].address == "http://10.0.0.6:8080"
    assert platform.slots["green"].targets == ["i-0abc:8080"]
    assert platform.deploy == ["ansible-playbook", "-i", "inventory/{slot}", "site.yml", "-e",
                               "version={version} host={address}"]  # fmt: skip
    assert platform.stop == ["systemctl", "--host", "{address}", "stop", "shop"]
    assert platform.deploy_timeout == 900.0 and platform.instances == 1


def test_command(tmp_path: Path) -> None:
    spec = load(tmp_path, """\
  kind: command
  launch: ./ecs-run {service} {version} {instance}
  stop: ./ecs-stop {instance} {address}
  status: ./ecs-list {service}
  instances: 2
""")
    platform = spec.platform
    assert isinstance(platform, CommandPlatformSpec)
    assert platform.launch == ["./ecs-run", "{service}", "{version}", "{instance}"]
    assert platform.status == ["./ecs-list", "{service}"] and platform.instances == 2


def test_kubernetes(tmp_path: Path) -> None:
    spec = load(tmp_path, """\
  kind: kubernetes
  namespace: shop
  image: registry.example.com/shop/web:{version}
  port: 8080
  replicas: 3
  labels: {app: web}
""")
    platform = spec.platform
    assert isinstance(platform, KubernetesPlatformSpec)
    assert (platform.container_port(), platform.replicas, platform.name) == (8080, 3, "{service}-{version}")


def test_kubernetes_template_gives_the_port(tmp_path: Path) -> None:
    spec = load(tmp_path, """\
  kind: kubernetes
  namespace: shop
  template:
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: ignored}
    spec:
      template:
        spec:
          containers:
            - name: web
              image: "registry.example.com/shop/web:{version}"
              ports: [{containerPort: 9090}]
""")
    assert isinstance(spec.platform, KubernetesPlatformSpec) and spec.platform.container_port() == 9090


@pytest.mark.parametrize(
    ("platform", "expected"),
    [
        ("  kind: vm\n", ":4: platform.kind: 'vm' is not a platform kind; one of process, slots, command, kubernetes"),
        ("  kind: slots\n  slots: {blue: http://h:1, green: http://h:2}\n  deploy: d\n  command: x\n",
         ":7: platform.command: unknown key"),
        ("  kind: slots\n  slots: {blue: http://h:1}\n  deploy: d\n",
         ":5: platform.slots: name at least two slots"),
        ("  kind: slots\n  slots: {blue: http://h:1, green: h:2}\n  deploy: d\n",
         ":5: platform.slots.green.address: 'h:2': expected http://HOST:PORT"),
        ("  kind: slots\n  slots: {blue: http://h:1, green: http://h:1}\n  deploy: d\n",
         ":5: platform.slots: two slots have the same address"),
        ("  kind: slots\n  slots: {blue: http://h:1, green: http://h:2}\n  deploy: d {verison}\n",
         ":6: platform.deploy: unknown placeholder {verison}; known: {version}, {slot}, {address}, {service}"),
        ("  kind: slots\n  slots: {blue: http://h:1, green: http://h:2}\n  deploy: \"d 'x\"\n",
         ":6: platform.deploy: \"d 'x\": no closing quotation"),
        ("  kind: slots\n  slots: {blue: http://h:1, green: http://h:2}\n",
         ":3: platform.deploy: required key is missing"),
        ("  kind: slots\n  slots: {blue: http://h:1, green: http://h:2}\n  deploy: d\n  instances: 2\n",
         ":7: platform.instances: a slot is one instance"),
        ("  kind: command\n  launch: l {slot}\n  stop: s\n",
         ":5: platform.launch: unknown placeholder {slot}; known: {version}, {service}, {instance}"),
        ("  kind: command\n  launch: l\n  stop: []\n", ":6: platform.stop: the command is empty"),
        ("  kind: command\n  launch: l\n", ":3: platform.stop: required key is missing"),
        ("  kind: command\n  launch: l\n  stop: s\n  port: 80\n", ":7: platform.port: unknown key"),
        ("  kind: kubernetes\n  namespace: Shop\n  image: x\n  port: 80\n",
         ":5: platform.namespace: expected a Kubernetes namespace"),
        ("  kind: kubernetes\n  namespace: shop\n  image: x\n",
         ":3: platform.port: required: the port the container listens on"),
        ("  kind: kubernetes\n  namespace: shop\n  image: x:{tag}\n  port: 80\n",
         ":6: platform.image: unknown placeholder {tag}; known: {version}, {service}, {name}"),
        ("  kind: kubernetes\n  namespace: shop\n  template: {kind: Pod}\n",
         ":6: platform.template: expected a Deployment manifest"),
        ("  kind: kubernetes\n  namespace: shop\n  image: x\n  port: 80\n  labels: {app: 'a b'}\n",
         ":8: platform.labels: app: 'a b' is not a label value"),
        ("  kind: kubernetes\n  namespace: shop\n  image: x\n  port: 80\n  deploy: d\n",
         ":8: platform.deploy: unknown key"),
    ],
    ids=["unknown kind", "another kind's key", "one slot", "bad address", "same address", "placeholder typo",
         "quotes", "no deploy", "instances", "launch placeholder", "empty stop", "no stop", "command: unknown key",
         "namespace", "no port", "image placeholder", "not a Deployment", "label value", "kubernetes: unknown key"],
)  # fmt: skip
def test_each_mistake_is_one_line_naming_the_key(tmp_path: Path, platform: str, expected: str) -> None:
    text = problems(tmp_path, platform)
    assert expected in text, text


def test_start_timeout_leaves_the_command_its_own_time(tmp_path: Path) -> None:
    spec = load(tmp_path, "  kind: slots\n  slots: {blue: http://h:1, green: http://h:2}\n  deploy: d\n")
    assert (spec.platform.start_timeout, spec.platform.deploy_timeout) == (900.0, 600.0)  # type: ignore[union-attr]
    text = problems(tmp_path, "  kind: command\n  launch: l\n  stop: s\n  launch_timeout: 5m\n  start_timeout: 1m\n")
    assert ":8: platform.start_timeout: 60s is not longer than launch_timeout (300s)" in text, text
