"""Analysis settings checked before a rollout starts: bad ones are config errors naming the key."""

from __future__ import annotations

from typing import Any

import pytest

from greenflag.errors import ConfigError
from greenflag.rollout.validate import check_analysis
from greenflag.spec import Spec
from tests.unit.rollout.analysis_specs import STEPS, make_spec

PLATFORM = {"command": "app --port {port}"}  # every spec says how a version starts


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"metrics": [{"name": "a", "query": "error_rate", "failure_condition": "result >"}]},
         "analysis.metrics[0].failure_condition"),
        ({"steps": [{"analysis": {"metrics": ["nope"]}}]}, "strategy.canary.steps[0].analysis.metrics[0]: 'nope'"),
    ],
)  # fmt: skip
def test_bad_analysis_specs_are_config_errors_naming_the_key(change: dict[str, Any], message: str) -> None:
    spec = make_spec(change.get("steps", STEPS))
    if "metrics" in change:
        spec = Spec.model_validate({**spec.model_dump(), "analysis": {"metrics": change["metrics"]}})
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        check_analysis(spec)


def test_a_canary_split_on_a_service_selector_is_refused() -> None:
    router = {"kind": "kubernetes", "namespace": "shop", "service": "web"}
    steps = [{"set_weight": 100}, {"set_weight": 10}]
    base = {"service": "s", "platform": PLATFORM}
    split = Spec.model_validate({**base, "router": router, "strategy": {"canary": {"steps": steps}}})
    with pytest.raises(ConfigError, match=r"strategy\.canary\.steps\[1\]: set_weight 10: router\.service switches"):
        check_analysis(split)
    check_analysis(Spec.model_validate({**base, "router": router, "strategy": {"blue_green": {}}}))
    route = {**router, "service": None, "httproute": "web"}
    canary = {"canary": {"steps": [{"set_weight": 10}]}}
    check_analysis(Spec.model_validate({**base, "router": route, "strategy": canary}))


KUBE_PLATFORM = {"kind": "kubernetes", "namespace": "shop", "image": "registry.example.com/web:{version}", "port": 8080}


@pytest.mark.parametrize(
    ("router", "message"),
    [
        ({"httproute": "web"}, r"router\.httproute: with platform\.kind kubernetes, each version runs behind"),
        ({"namespace": "other"}, r"router\.namespace: 'other': a Service selects pods of its own namespace only"),
        ({"selector_label": "track"}, r"router\.selector_label: 'track': the pods of each version carry platform"),
        ({"backends": {"v2": "green"}}, r"router\.backends\.v2: 'green': the kubernetes platform labels"),
    ],
)
def test_a_kubernetes_router_that_cannot_reach_the_kubernetes_platforms_versions_is_refused(
    router: dict[str, Any], message: str
) -> None:
    base = {"kind": "kubernetes", "namespace": "shop", "service": "web"}
    keys = {**base, **router}
    if "httproute" in router:
        del keys["service"]
    spec = Spec.model_validate({"service": "web", "platform": KUBE_PLATFORM, "router": keys,
                                "strategy": {"blue_green": {}}})  # fmt: skip
    with pytest.raises(ConfigError, match=message):
        check_analysis(spec)


def test_the_service_selector_on_the_kubernetes_platforms_namespace_and_label_is_accepted() -> None:
    platform = {**KUBE_PLATFORM, "selector_label": "app.kubernetes.io/version"}
    router = {"kind": "kubernetes", "namespace": "shop", "service": "web", "backends": {"v1": "v1"},
              "selector_label": "app.kubernetes.io/version"}  # fmt: skip
    check_analysis(Spec.model_validate({"service": "web", "platform": platform, "router": router,
                                        "strategy": {"blue_green": {}}}))  # fmt: skip
    route = {"kind": "kubernetes", "namespace": "shop", "httproute": "web"}  # other platforms: any route
    check_analysis(Spec.model_validate({"service": "web", "platform": PLATFORM, "router": route,
                                        "strategy": {"blue_green": {}}}))  # fmt: skip
