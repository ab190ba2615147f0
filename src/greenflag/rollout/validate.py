"""Checks of a spec's analysis that pydantic cannot make alone (pure): conditions parse, step filters name
metrics that exist, and a router that cannot split traffic (a Kubernetes Service selector) is not given a canary's
split, and a kubernetes platform is given a Kubernetes router that can reach its versions. Run when a controller is
built, so a bad spec exits 2 before anything is launched."""

from __future__ import annotations

from greenflag.analysis.conditions import ConditionError, parse_condition
from greenflag.analysis.defaults import builtin_metrics
from greenflag.errors import ConfigError
from greenflag.rollout.presets import canary_steps
from greenflag.spec import (
    AnalysisBody,
    AnalysisStep,
    KubernetesPlatformSpec,
    KubernetesRouterSpec,
    SetWeightStep,
    Spec,
)

__all__ = ["check_analysis"]
__pure__ = True


def _bodies(spec: Spec) -> list[tuple[str, AnalysisBody]]:
    out: list[tuple[str, AnalysisBody]] = []
    canary, bg = spec.strategy.canary, spec.strategy.blue_green
    if canary is not None and canary.steps is not None:
        for i, step in enumerate(canary.steps):
            if isinstance(step, AnalysisStep):
                out.append((f"strategy.canary.steps[{i}]", step.analysis))
    if bg is not None:
        for key in ("pre_promotion_analysis", "post_promotion_analysis"):
            body = getattr(bg, key)
            if body is not None:
                out.append((f"strategy.blue_green.{key}", body))
    return out


def check_analysis(spec: Spec) -> None:
    """ConfigError naming the file and key path for a malformed condition or an unknown metric in a step."""
    where = f"{spec.source}: " if spec.source is not None else ""
    for i, metric in enumerate(spec.analysis.metrics):
        for key in ("success_condition", "failure_condition"):
            text = getattr(metric, key)
            try:
                if text:
                    parse_condition(text)
            except ConditionError as exc:
                raise ConfigError(f"{where}analysis.metrics[{i}].{key}: {text!r}: {exc}") from None
    known = [m.name for m in spec.analysis.metrics] + [m.name for m in builtin_metrics()]
    for path, body in _bodies(spec):
        for j, name in enumerate(body.metrics or []):
            if name not in known:
                raise ConfigError(
                    f"{where}{path}.analysis.metrics[{j}]: {name!r} is not a metric (known: {', '.join(known)})"
                )

    _check_switch(spec, where)
    _check_kubernetes(spec, where)


def _check_switch(spec: Spec, where: str) -> None:
    """A Service selector sends all traffic to one version: a canary step between 0 and 100 % cannot run on it."""
    router, canary = spec.router, spec.strategy.canary
    if not isinstance(router, KubernetesRouterSpec) or router.service is None or canary is None:
        return
    for i, step in enumerate(canary_steps(canary)):
        if isinstance(step, SetWeightStep) and 0 < step.set_weight < 100:
            path = f"strategy.canary.steps[{i}]" if canary.steps is not None else "strategy.canary.preset"
            raise ConfigError(
                f"{where}{path}: set_weight {step.set_weight}: router.service switches all traffic at once; "
                "use router.httproute for a canary, or strategy.blue_green"
            )


def _check_kubernetes(spec: Spec, where: str) -> None:
    """The kubernetes platform runs each version behind a Service of its own and labels its pods with the version:
    a Kubernetes router reaches them only by switching a Service's selector to that label, in the same namespace."""
    router, platform = spec.router, spec.platform
    if not isinstance(router, KubernetesRouterSpec) or not isinstance(platform, KubernetesPlatformSpec):
        return
    if router.httproute is not None:
        raise ConfigError(
            f"{where}router.httproute: with platform.kind kubernetes, each version runs behind a Service of its own, "
            "which the route's backendRefs do not name; use router.service (a selector switch)"
        )
    if router.namespace != platform.namespace:
        raise ConfigError(
            f"{where}router.namespace: {router.namespace!r}: a Service selects pods of its own namespace only, and "
            f"platform.namespace is {platform.namespace!r}"
        )
    if router.selector_label != platform.selector_label:
        raise ConfigError(
            f"{where}router.selector_label: {router.selector_label!r}: the pods of each version carry "
            f"platform.selector_label {platform.selector_label!r}; give both the same key"
        )
    for name, value in router.backends.items():
        if value != name:
            raise ConfigError(
                f"{where}router.backends.{name}: {value!r}: the kubernetes platform labels a version's pods with "
                "the version itself; leave router.backends out"
            )
