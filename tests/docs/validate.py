"""Validate a YAML block with the loaders greenflag itself uses: a greenflag.yaml (or a fragment of one, completed
with the smallest spec around it) through `load_spec` and the rollout's analysis checks, a journeys file through
the YAML journeys loader. A block that is neither cannot be classified."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import yaml

__all__ = ["BASE_SPEC", "validate_yaml"]

BASE_SPEC: dict[str, Any] = {
    "service": "docs-example",
    "platform": {"command": "greenflag demo-app --port {port} --version {version}"},
    "strategy": {"canary": {"steps": [{"set_weight": 100}]}},
}
JOURNEY_KEYS = {"config", "flows"}
_counter = itertools.count(1)


def _spec_keys() -> set[str]:
    from greenflag.spec import Spec

    return set(Spec.model_fields)


def _complete(fragment: dict[str, Any]) -> dict[str, Any]:
    data = {k: v for k, v in BASE_SPEC.items() if k not in fragment}
    data.update(fragment)
    platform = data.get("platform")
    if isinstance(platform, dict) and platform.get("kind", "process") == "process" and "command" not in platform:
        data["platform"] = {**platform, "command": BASE_SPEC["platform"]["command"]}
    return data


def validate_yaml(text: str, sandbox: Path, written: Path | None) -> list[str]:
    """Problems with one YAML block (empty: valid). `written` is where a `file` block was written, else None."""
    from greenflag.config import load_spec
    from greenflag.errors import GreenflagError
    from greenflag.load.scenarios.flowrun import load_yaml_flows
    from greenflag.rollout.validate import check_analysis

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        return [f"YAML does not parse: {exc}"]
    if not isinstance(data, dict) or not data:
        return ["a YAML block that is not a mapping: annotate it (doc-test: skip — why, or keys SOURCE)"]
    keys = set(data)
    try:
        if keys <= JOURNEY_KEYS and "flows" in keys:
            path = written or sandbox / "examples" / f"doc-test-journey-{next(_counter)}.yaml"
            if written is None:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
            load_yaml_flows(path, host="http://127.0.0.1:8080")
        elif keys <= _spec_keys():
            if written is None or "strategy" not in data:
                path = sandbox / ".doc-test" / f"fragment-{next(_counter)}.yaml"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(yaml.safe_dump(_complete(data), sort_keys=False))
            else:
                path = written
            check_analysis(load_spec(path))
        else:
            return [f"YAML with keys {sorted(keys)} is neither a greenflag.yaml (fragment) nor a journeys file: "
                    "annotate it (doc-test: skip — why)"]  # fmt: skip
    except GreenflagError as exc:
        return [f"invalid: {exc}"]
    return []
