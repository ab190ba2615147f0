"""Validate a YAML block with the loaders greenflag itself uses: a greenflag.yaml (or a fragment of one, completed
with the smallest spec around it) through `load_spec` and the rollout's analysis checks, a journeys file through
the YAML journeys loader, a drill.yaml through the drill loader, a WAF payload set through the corpus loader. A
block that is none of these cannot be classified."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import yaml

from tests.support import DEMO_PLATFORM, release_spec

__all__ = ["BASE_SPEC", "validate_yaml"]

BASE_SPEC: dict[str, Any] = release_spec("docs-example")
JOURNEY_KEYS = {"config", "flows", "scenarios"}
_counter = itertools.count(1)


def _spec_keys() -> set[str]:
    from greenflag.spec import Spec

    return set(Spec.model_fields)


def _drill_keys() -> set[str]:
    from greenflag.dr.config import DrillSpec

    return set(DrillSpec.model_fields)


def _corpus_keys() -> set[str]:
    from greenflag.readiness.waf.corpus import CorpusFile

    return set(CorpusFile.model_fields)


def _validate_drill(data: dict[str, Any], path: Path) -> None:
    """A drill.yaml is valid when `greenflag drill KIND -f` accepts it: KIND its `kind`, else either kind."""
    from greenflag.dr.config import load_drill_spec
    from greenflag.errors import GreenflagError

    kinds = [str(data["kind"])] if data.get("kind") in ("postgres", "sqlite") else ["postgres", "sqlite"]
    errors: list[GreenflagError] = []
    for kind in kinds:
        try:
            load_drill_spec(path, kind)
            return
        except GreenflagError as exc:
            errors.append(exc)
    raise errors[0]


def _scratch(sandbox: Path, written: Path | None, text: str, name: str) -> Path:
    """Where a block is validated from: the file it was written to, else a scratch file in the sandbox."""
    if written is not None:
        return written
    path = sandbox / ".doc-test" / f"{name}-{next(_counter)}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _complete(fragment: dict[str, Any]) -> dict[str, Any]:
    data = {k: v for k, v in BASE_SPEC.items() if k not in fragment}
    data.update(fragment)
    platform = data.get("platform")
    if isinstance(platform, dict) and platform.get("kind", "process") == "process" and "command" not in platform:
        data["platform"] = {**platform, "command": DEMO_PLATFORM["command"]}
    return data


def validate_yaml(text: str, sandbox: Path, written: Path | None) -> list[str]:
    """Problems with one YAML block (empty: valid). `written` is where a `file` block was written, else None."""
    from greenflag.config import load_spec
    from greenflag.errors import GreenflagError
    from greenflag.load.scenarios.flowrun import load_yaml_flows
    from greenflag.readiness.waf.corpus import load_corpus
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
        elif keys <= _drill_keys():
            _validate_drill(data, _scratch(sandbox, written, text, "drill"))
        elif "attacks" in keys and keys <= _corpus_keys():
            load_corpus([_scratch(sandbox, written, text, "corpus")], builtin=False)
        else:
            return [f"YAML with keys {sorted(keys)} is none of a greenflag.yaml (fragment), a journeys file, a "
                    "drill.yaml or a WAF payload set: annotate it (doc-test: skip — why)"]  # fmt: skip
    except GreenflagError as exc:
        return [f"invalid: {exc}"]
    return []
