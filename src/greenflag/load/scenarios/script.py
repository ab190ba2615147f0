"""Python scenario files (`greenflag load run journeys.py`): import the file, find its User classes and `options`.

Everything that can be checked before traffic is checked here; problems raise `UsageError` naming the file and
line (exit 2): a file that cannot be imported, no User class, a User without `@task`, a task that is not
`async def`, a bad `wait_time`, `host` or `options`.
"""

from __future__ import annotations

import ast
import contextlib
import importlib.util
import inspect
import re
import sys
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from greenflag.errors import UsageError
from greenflag.load.engine.options import OPTION_KEYS, OptionError, PlanOptions, from_mapping
from greenflag.load.http.client import Target, parse_target
from greenflag.load.metrics.series import Registry
from greenflag.load.metrics.thresholds import ThresholdError, parse_thresholds
from greenflag.load.scenarios.journey import ClassPlan, SessionOptions, UserScenario
from greenflag.load.scenarios.user import User, Wait, task_table

__all__ = ["OPTION_KEYS", "ScriptScenario", "base_target", "load_python", "plan_options"]


@dataclass
class ScriptScenario:
    """A loaded scenario file (Python or YAML): what `greenflag load run` needs (the LoadedScenario protocol)."""

    options: PlanOptions
    thresholds: dict[str, Any]
    classes: list[type[User]]
    bases: dict[type[User], Target | None] = field(default_factory=dict)
    custom_metrics: bool = True
    exec_classes: dict[str, list[type[User]]] = field(default_factory=dict)  # scenario → the classes it runs

    def make_scenario(self, registry: Registry, session: SessionOptions | None = None) -> UserScenario:
        """The engine's scenario; `session`: headers for every request and a throttle (analysis traffic)."""
        plans = [ClassPlan.of(cls, self.bases.get(cls)) for cls in self.classes]
        return UserScenario(plans, registry, session)

    def make_for(self, scenario: str) -> Callable[[Registry], UserScenario]:
        """The VUs of one of `options.scenarios`: its `exec` classes (all of the file's when it names none)."""
        classes = self.exec_classes.get(scenario) or self.classes

        def make(registry: Registry) -> UserScenario:
            return UserScenario([ClassPlan.of(cls, self.bases.get(cls)) for cls in classes], registry)

        return make


def plan_options(source: str, options: Any, prefix: str = "options") -> tuple[PlanOptions, dict[str, Any]]:
    """k6-style options (a dict) → plan options and thresholds; UsageError naming `source`, the key path under
    `prefix` and what is expected, for every key and every kind of bad value."""
    if options is None:
        return PlanOptions(), {}
    if not isinstance(options, dict):
        raise UsageError(f"{source}: {prefix}: expected a dict such as {{'vus': 10, 'duration': '30s'}}")
    try:
        plan = from_mapping(options)
    except OptionError as exc:
        raise UsageError(f"{source}: {prefix}.{exc}") from None
    thresholds = options.get("thresholds") or {}
    try:
        parse_thresholds(thresholds)  # parsed again by the runner; here for the file, line and key in errors
    except ThresholdError as exc:
        raise UsageError(f"{source}: {prefix}.thresholds: {exc}") from None
    return plan, thresholds


def base_target(source: str, host: str | None, what: str) -> Target | None:
    if host is None:
        return None
    try:
        return parse_target(host)
    except ValueError as exc:
        raise UsageError(f"{source}: {what}: {exc}") from None


def _line_of(obj: Any) -> int:
    with contextlib.suppress(OSError, TypeError):
        return inspect.getsourcelines(obj)[1]
    return 1


def _error_line(path: Path, exc: BaseException) -> int:
    if isinstance(exc, SyntaxError) and exc.lineno:
        return exc.lineno
    line = 1
    resolved = str(path.resolve())
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename and str(Path(frame.filename).resolve()) == resolved and frame.lineno:
            line = frame.lineno
    return line


@contextlib.contextmanager
def _script_dir_on_path(directory: str) -> Iterator[None]:
    sys.path.insert(0, directory)
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(directory)


def _import(path: Path) -> ModuleType:
    name = "greenflag_journeys_" + re.sub(r"\W", "_", path.stem)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise UsageError(f"{path}: cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        with _script_dir_on_path(str(path.resolve().parent)):
            spec.loader.exec_module(module)
    except (Exception, SystemExit) as exc:
        sys.modules.pop(name, None)
        message = exc.msg if isinstance(exc, SyntaxError) else str(exc)
        detail = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
        raise UsageError(f"{path}:{_error_line(path, exc)}: cannot import the script: {detail}") from None
    return module


def _user_classes(path: Path, module: ModuleType) -> list[type[User]]:
    found = []
    for value in vars(module).values():
        if not (isinstance(value, type) and issubclass(value, User)) or value is User:
            continue
        if value.__dict__.get("abstract", False) or value.__module__.startswith("greenflag."):
            continue
        found.append(value)
    if not found:
        raise UsageError(f"{path}:1: defines no User class (write `class Visitor(User):` with @task methods)")
    for cls in found:
        _validate_class(path, cls)
    return found


def _validate_class(path: Path, cls: type[User]) -> None:
    where = f"{path}:{_line_of(cls)}"
    tasks = task_table(cls)
    if not tasks:
        raise UsageError(f"{where}: class {cls.__name__} has no @task methods (or set `abstract = True` on it)")
    for name, _ in tasks:
        fn = getattr(cls, name)
        if not inspect.iscoroutinefunction(fn):
            raise UsageError(f"{path}:{_line_of(fn)}: task {cls.__name__}.{name} must be `async def`")
    wait = cls.wait_time
    if wait is not None and not isinstance(wait, Wait) and not isinstance(wait, int | float):
        raise UsageError(f"{where}: {cls.__name__}.wait_time: expected between(a, b), constant(s), pacing(s)")
    if isinstance(cls.weight, bool) or not isinstance(cls.weight, int) or cls.weight < 1:
        raise UsageError(f"{where}: {cls.__name__}.weight: expected an integer ≥ 1")


def _options_line(path: Path) -> int | None:
    """The line of the module-level `options = ...` assignment, for error messages."""
    with contextlib.suppress(OSError, SyntaxError, ValueError):
        for node in ast.parse(path.read_text()).body:
            targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
            if any(isinstance(t, ast.Name) and t.id == "options" for t in targets):
                return node.lineno
    return None


def load_python(path: Path, *, host: str | None) -> ScriptScenario:
    """Import a journeys file. `host` (the --host option) overrides the classes' `host` attributes."""
    module = _import(path)
    classes = _user_classes(path, module)
    options_line = _options_line(path)
    where = f"{path}:{options_line}" if options_line else str(path)
    options, thresholds = plan_options(where, getattr(module, "options", None))
    cli_base = base_target(str(path), host, "--host")
    bases: dict[type[User], Target | None] = {}
    for cls in classes:
        base = cli_base or base_target(f"{path}:{_line_of(cls)}", cls.host, f"{cls.__name__}.host")
        if base is None:
            raise UsageError(f"{path}:{_line_of(cls)}: no host for {cls.__name__}: pass --host URL or set `host`")
        bases[cls] = base
    exec_classes: dict[str, list[type[User]]] = {}
    by_name = {cls.__name__: cls for cls in classes}
    for scenario in options.scenarios:
        for name in scenario.flows:
            if name not in by_name:
                raise UsageError(
                    f"{where}: options.scenarios.{scenario.name}.exec: no User class {name!r} here "
                    f"(the file's: {', '.join(sorted(by_name))})"
                )
        exec_classes[scenario.name] = [by_name[name] for name in scenario.flows]
    return ScriptScenario(
        options=options, thresholds=thresholds, classes=classes, bases=bases, exec_classes=exec_classes
    )
