"""Loading YAML flows: `load_yaml_flows` (file → validated `flows` models → a generated `User` class, and one per
scenario of a `scenarios:` section). The file's schema is `flows.py` (pure models), running it `flowsteps.py`;
errors name the file, line and key path (exit 2). The step helpers are re-exported here.
"""

from __future__ import annotations

import os
import re
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from greenflag.config import KeyPath, load_yaml, parse_model
from greenflag.errors import ConfigError, UsageError
from greenflag.load.engine.options import OptionError, PlanOptions, from_mapping
from greenflag.load.scenarios.flows import FlowFile
from greenflag.load.scenarios.flowsteps import (
    CaptureFailed,
    build_feeders,
    capture_value,
    check_name,
    check_passes,
    json_path,
    make_user_class,
    render,
)
from greenflag.load.scenarios.script import ScriptScenario, base_target, plan_options
from greenflag.load.scenarios.user import User

if TYPE_CHECKING:
    from greenflag.load.http.head import Target

__all__ = [
    "CaptureFailed",
    "build_feeders",
    "capture_value",
    "check_name",
    "check_passes",
    "json_path",
    "load_yaml_flows",
    "make_user_class",
    "render",
]

_TEMPLATE = re.compile(r"\{\{\s*([A-Za-z_][\w.]*)\s*\}\}")


def _where(path: Path, lines: dict[KeyPath, int], key: KeyPath) -> str:
    probe = key
    while probe and probe not in lines:
        probe = probe[:-1]
    line = lines.get(probe)
    return f"{path}:{line}" if line else str(path)


def _check_env_references(path: Path, lines: dict[KeyPath, int], data: Any, env: dict[str, str]) -> None:
    """Every `{{ env.NAME }}` in the file names a variable of the environment (before any traffic)."""

    def walk(value: Any, key: KeyPath) -> None:
        if isinstance(value, str):
            for match in _TEMPLATE.finditer(value):
                name = match.group(1)
                if name.startswith("env.") and name not in env:
                    dotted = ".".join(str(k) if isinstance(k, str) else f"[{k}]" for k in key).replace(".[", "[")
                    raise ConfigError(
                        f"{_where(path, lines, key)}: {dotted}: {{{{ {name} }}}}: no such environment variable "
                        f"(set it, or pass -e {name[4:]}=VALUE)"
                    )
        elif isinstance(value, dict):
            for child_key, child in value.items():
                walk(child, (*key, str(child_key)))
        elif isinstance(value, list):
            for index, child in enumerate(value):
                walk(child, (*key, index))

    walk(data, ())


def _bad_option(options: dict[str, Any], key: str) -> bool:
    """The first key that `plan_options` will refuse (so the error can carry that key's line)."""
    try:
        from_mapping({key: options[key]})
    except ValueError:
        return True
    return False


def load_yaml_flows(path: Path, *, host: str | None) -> ScriptScenario:
    """Load and validate a YAML journeys file into the same scenario type as Python files (LoadedScenario)."""
    data, lines = load_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping with keys config and flows")
    model = parse_model(FlowFile, data, str(path), lines)
    raw_options = model.config.options or None
    key = next((k for k in raw_options or {} if _bad_option(raw_options or {}, k)), None)
    where_options = _where(path, lines, ("config", "options", key) if key is not None else ("config", "options"))
    options, thresholds = plan_options(where_options, raw_options, "config.options")
    if model.scenarios is not None:
        options = _with_scenarios(path, lines, options, model)
    try:
        feeders = build_feeders(model.config.feeders, path.resolve().parent)
    except ValueError as exc:
        raise ConfigError(f"{_where(path, lines, ('config', 'feeders'))}: config.feeders: {exc}") from None
    env = {f"env.{key}": value for key, value in os.environ.items()}  # after -e/--env (applied before loading)
    _check_env_references(path, lines, data, env)
    cls = make_user_class(model, feeders, path.stem, env)
    base = base_target(str(path), host, "--host") or base_target(
        _where(path, lines, ("config", "host")), model.config.host, "config.host"
    )
    if base is None:
        raise UsageError(f"{path}: no host: pass --host URL or set config.host")
    exec_classes: dict[str, list[type[User]]] = {}
    bases: dict[type[User], Target | None] = {cls: base}
    for scenario in options.scenarios:
        if scenario.flows:  # a class of its own, with only the flows it names
            subset = model.model_copy(update={"flows": [f for f in model.flows if f.name in scenario.flows]})
            own = make_user_class(subset, feeders, f"{path.stem}_{scenario.name}", env)
            exec_classes[scenario.name], bases[own] = [own], base
    return ScriptScenario(options=options, thresholds=thresholds, classes=[cls], bases=bases, exec_classes=exec_classes)


def _with_scenarios(path: Path, lines: dict[KeyPath, int], options: PlanOptions, model: FlowFile) -> PlanOptions:
    """The file's `scenarios:` section (k6's options.scenarios), checked as the options are; each `exec` names
    flows of the file."""
    try:
        found = from_mapping({"scenarios": model.scenarios})
        if options.executor_fields:
            raise OptionError("scenarios", "cannot be combined with config.options." + ", config.options.".join(
                options.executor_fields) + ": give them per scenario")  # fmt: skip
    except OptionError as exc:
        parts = tuple(exc.key.split(".")[:3])
        raise ConfigError(f"{_where(path, lines, parts)}: {exc}") from None
    names = {flow.name for flow in model.flows}
    for scenario in found.scenarios:
        for flow in scenario.flows:
            if flow not in names:
                where = _where(path, lines, ("scenarios", scenario.name, "exec"))
                known = ", ".join(sorted(names))
                raise ConfigError(f"{where}: scenarios.{scenario.name}.exec: no flow named {flow!r} (flows: {known})")
    return replace(options, scenarios=found.scenarios)
