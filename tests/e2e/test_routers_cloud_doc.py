"""The AWS ALB and Kubernetes sections of docs/routers.md and the alarms section of docs/analysis.md are executed:
every YAML example loads (and each `router:` example builds its driver), the ALB commands run against moto's AWS
server on 127.0.0.1 (the doc's ARNs replaced by the load balancer built there), the Kubernetes ones against the fake
API server of tests/kube_api.py with the doc's HTTPRoute manifest, and the real-cluster instructions name the
variables the contract suite reads."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from greenflag.config import load_spec
from greenflag.traffic.registry import make_router
from tests.aws import REGION, build_alb
from tests.contract import test_router_contract as contract
from tests.kube_api import FakeKubeApi, service
from tests.servers import AWS_TEST_ENV, moto_server
from tests.support import ROOT, greenflag_cmd

PLATFORM = {"command": "app --port {port}"}  # every spec says how a version starts

DOC = ROOT / "docs" / "routers.md"
ANALYSIS = ROOT / "docs" / "analysis.md"
HEAD = {"service": "shop", "platform": PLATFORM, "strategy": {"canary": {"steps": [{"set_weight": 10}]}}}

pytestmark = pytest.mark.timeout(120)


def cloud_sections() -> str:
    text = DOC.read_text()
    return text[text.index("## AWS ALB"):text.index("## What was measured")]


def blocks(kind: str, doc: Path | None = None) -> list[str]:
    text = cloud_sections() if doc is None else doc.read_text()
    return re.findall(rf"```{kind}\n(.*?)```", text, flags=re.S)


def routers() -> list[dict[str, Any]]:
    return [b["router"] for b in map(yaml.safe_load, blocks("yaml")) if "router" in b]


def commands(block: str) -> list[tuple[str, list[str]]]:
    """(`greenflag …` command, the output lines the doc shows under it)."""
    out: list[tuple[str, list[str]]] = []
    for line in block.strip().splitlines():
        if line.startswith("$ "):
            out.append((line[2:], []))
        elif out:
            out[-1][1].append(line)
    return out


def write_spec(path: Path, router: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump({**HEAD, "router": router}))
    return path


def run(command: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    args = shlex.split(command)
    assert args[0] == "greenflag", command
    return subprocess.run(greenflag_cmd(*args[1:]), cwd=cwd, capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})})  # fmt: skip


def test_every_router_example_loads_and_builds_its_driver(tmp_path: Path) -> None:
    examples = routers()
    assert [r["kind"] for r in examples] == ["alb", "kubernetes", "kubernetes"]
    for i, router in enumerate(examples):
        spec = load_spec(write_spec(tmp_path / f"{i}.yaml", router))
        make_router(spec.router, base_dir=tmp_path)  # the ARNs and names pass the driver's checks


@pytest.fixture
def moto() -> Iterator[str]:
    with pytest.MonkeyPatch.context() as patch:
        for key, value in AWS_TEST_ENV.items():
            patch.setenv(key, value)
        with moto_server() as endpoint:
            yield endpoint


def test_the_alb_commands_run_as_written(moto: str, tmp_path: Path) -> None:
    world = build_alb(moto)
    router = routers()[0]
    router.update(listener_arn=world.listener, test_listener_arn=world.test_listener, endpoint_url=moto,
                  target_groups=world.target_groups)  # fmt: skip
    assert router["region"] == REGION
    write_spec(tmp_path / "greenflag.yaml", router)
    world.register("green", "10.0.1.5:8080")
    for command, shown in commands(blocks("console")[0]):
        done = run(command, tmp_path, AWS_TEST_ENV)
        assert done.returncode == 0, (command, done.stderr)
        if shown:
            assert done.stdout.splitlines() == shown, command
        elif "--json" in command:
            status = json.loads(done.stdout)
            assert status["weights"] == {"blue": 90, "green": 10}
            assert status["backends"]["green"]["state"] == "1/1 healthy"


def test_the_kubernetes_commands_run_as_written(tmp_path: Path) -> None:
    fake = FakeKubeApi()
    fake.start()
    try:
        manifest = next(yaml.safe_load(b) for b in blocks("yaml") if "HTTPRoute" in b)
        for name in ("web-blue", "web-green"):
            fake.create("services", service("shop", name))
        fake.create("httproutes", manifest)
        fake.kubeconfig(tmp_path / "kubeconfig")
        write_spec(tmp_path / "greenflag.yaml", routers()[1])
        for command, shown in commands(blocks("console")[1]):
            done = run(command, tmp_path)
            assert done.returncode == 0 and done.stdout.splitlines() == shown, (command, done.stderr)
        weights = {r["name"]: r["weight"] for r in fake.get("httproutes", "shop", "web")["spec"]["rules"][0]
                   ["backendRefs"]}  # fmt: skip
        assert weights == {"web-blue": 90, "web-green": 10}
    finally:
        fake.stop()


def test_the_real_cluster_instructions_name_what_the_suite_reads() -> None:
    text = blocks("console")[2]
    assert f"{contract.CLUSTER_ENV}=" in text and "-k kubernetes_cluster" in text
    for variable in ("GREENFLAG_TEST_K8S_NAMESPACE", "GREENFLAG_TEST_K8S_GATEWAY"):
        assert variable in text and variable in Path(contract.__file__).read_text()


def test_the_alarms_example_loads(tmp_path: Path) -> None:
    (example,) = [b for b in blocks("yaml", ANALYSIS) if "alarms:" in b]
    path = tmp_path / "greenflag.yaml"
    path.write_text(yaml.safe_dump({**HEAD, **yaml.safe_load(example)}))
    alarms = load_spec(path).analysis.alarms
    assert alarms is not None and alarms.names[0] == "greenflag-shop-green-5xx-rate"
    assert (alarms.interval, alarms.ignore_poll_failure, alarms.on_insufficient_data) == (10.0, False, "ignore")


def test_links_resolve() -> None:
    for page in (DOC, ROOT / "README.md"):
        for target, anchor in re.findall(r"\]\(((?:docs/)?[a-z-]+\.md)(?:#([a-z0-9-]+))?\)", page.read_text()):
            path = page.parent / target
            assert path.exists(), target
            if anchor:
                headings = re.findall(r"^#+ (.+)$", path.read_text(), flags=re.M)
                slugs = {re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-") for h in headings}
                assert anchor in slugs, (target, anchor)
