"""Loading and running YAML flows: `load_yaml_flows` (file → validated `flows` models → a generated `User` class),
templating (`{{ var }}`), captures, checks.

Pure helpers (`render`, `json_path`, `capture_value`, `check_passes`) are separate from the async step runner.
The file's schema is `flows.py` (pure models); errors name the file, line and key path (exit 2).
"""

from __future__ import annotations

import asyncio
import os
import re
import uuid
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

from greenflag.config import KeyPath, load_yaml, parse_model
from greenflag.errors import ConfigError, UsageError
from greenflag.load.engine.options import from_mapping
from greenflag.load.scenarios.feeders import Feeder
from greenflag.load.scenarios.flows import (
    CaptureSpec,
    CheckSpec,
    FeederSpec,
    FlowFile,
    FlowSpec,
    RequestSpec,
    StepSpec,
)
from greenflag.load.scenarios.script import ScriptScenario, base_target, plan_options
from greenflag.load.scenarios.user import User, Wait, between, constant, pacing, task

if TYPE_CHECKING:
    from greenflag.load.http.models import Response

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
_PATH_TOKEN = re.compile(r"\.([A-Za-z_][\w-]*)|\[(\d+)\]|\['([^']*)'\]|\[\"([^\"]*)\"\]")
_MISSING = object()


class CaptureFailed(LookupError):
    """A capture found nothing: the rest of the flow is skipped (counted as a script error)."""


def render(value: Any, variables: dict[str, Any]) -> Any:
    """Replace `{{ name }}` in strings (recursively in lists and dicts). An unknown name raises KeyError."""
    if isinstance(value, str):
        if "{{" not in value:
            return value
        whole = _TEMPLATE.fullmatch(value.strip())
        if whole is not None:  # a lone reference keeps the variable's type (numbers in JSON bodies)
            return _lookup(whole.group(1), variables)
        return _TEMPLATE.sub(lambda m: str(_lookup(m.group(1), variables)), value)
    if isinstance(value, list):
        return [render(item, variables) for item in value]
    if isinstance(value, dict):
        return {key: render(item, variables) for key, item in value.items()}
    return value


def _lookup(name: str, variables: dict[str, Any]) -> Any:
    if name == "uuid":
        return str(uuid.uuid4())
    if name not in variables:
        raise KeyError(f"{{{{ {name} }}}}: no such variable")
    return variables[name]


def json_path(data: Any, path: str) -> Any:
    """A JSONPath subset: `$.items[0].id`, `$['a b']`, `items[0]`; returns _MISSING when absent."""
    text = path.strip()
    text = text[1:] if text.startswith("$") else text
    if text and not text.startswith((".", "[")):
        text = "." + text
    position = 0
    current = data
    while position < len(text):
        match = _PATH_TOKEN.match(text, position)
        if match is None:
            raise ValueError(f"json path {path!r}: cannot parse at {text[position:]!r}")
        position = match.end()
        key = match.group(1) or match.group(3) or match.group(4)
        index = match.group(2)
        if index is not None:
            if not isinstance(current, list) or int(index) >= len(current):
                return _MISSING
            current = current[int(index)]
        elif isinstance(current, dict) and key in current:
            current = current[key]
        else:
            return _MISSING
    return current


def _body_json(resp: Response) -> Any:
    try:
        return resp.json()
    except ValueError:
        return _MISSING


def capture_value(resp: Response, spec: CaptureSpec) -> dict[str, Any]:
    """The variables a capture sets (empty when it found nothing)."""
    if spec.json_path is not None:
        data = _body_json(resp)
        value = _MISSING if data is _MISSING else json_path(data, spec.json_path)
        return {} if value is _MISSING else {spec.as_: value}
    if spec.regex is not None:
        match = re.search(spec.regex, resp.text)
        if match is None:
            return {}
        group = spec.group if spec.group is not None else (1 if match.re.groups else 0)
        return {spec.as_: match.group(group)}
    if spec.css is not None:
        found = resp.css(spec.css)
        if not found:
            return {}
        value = found[0].text if spec.attr is None else found[0].attr(spec.attr)
        return {} if value is None else {spec.as_: value}
    if spec.header is not None:
        header = resp.headers.get(spec.header)
        return {} if header is None else {spec.as_: header}
    assert spec.form is not None
    try:
        form = resp.form(spec.form)
    except LookupError:
        return {}
    return {f"{spec.as_}.{name}": value for name, value in form.fields}


def check_name(spec: CheckSpec, request_name: str) -> str:
    if spec.name:
        return spec.name
    if spec.status is not None:
        return f"{request_name} status {spec.status}"
    if spec.contains is not None:
        return f"{request_name} contains {spec.contains!r}"
    if spec.not_contains is not None:
        return f"{request_name} does not contain {spec.not_contains!r}"
    if spec.json_path is not None:
        return f"{request_name} {spec.json_path}" + ("" if spec.equals is None else f" == {spec.equals!r}")
    return f"{request_name} has {spec.css}"


def check_passes(spec: CheckSpec, resp: Response, variables: dict[str, Any]) -> bool:
    """Every condition the check names holds (a check may combine several)."""
    if spec.status is not None:
        allowed = spec.status if isinstance(spec.status, list) else [spec.status]
        if resp.status not in allowed:
            return False
    if spec.contains is not None and str(render(spec.contains, variables)) not in resp.text:
        return False
    if spec.not_contains is not None and str(render(spec.not_contains, variables)) in resp.text:
        return False
    if spec.json_path is not None:
        data = _body_json(resp)
        value = _MISSING if data is _MISSING else json_path(data, spec.json_path)
        if value is _MISSING or (spec.equals is not None and value != render(spec.equals, variables)):
            return False
    return spec.css is None or bool(resp.css(spec.css))


class _FeederUse:
    __slots__ = ("feeder", "mode", "name")

    def __init__(self, name: str, feeder: Feeder, mode: str) -> None:
        self.name, self.feeder, self.mode = name, feeder, mode

    def row(self, vu_id: int) -> dict[str, Any]:
        return self.feeder.for_vu(vu_id) if self.mode == "per_vu" else self.feeder.next()


def build_feeders(specs: dict[str, FeederSpec], base_dir: Path) -> list[_FeederUse]:
    """Feeders loaded now (so a bad file is an error before the run); ValueError names the file."""
    out = []
    for name, spec in specs.items():
        feeder = Feeder(
            spec.path,
            base_dir=base_dir,
            order="random" if spec.mode == "random" else "sequential",
            unique=spec.mode == "unique",
        )
        _ = feeder.rows
        out.append(_FeederUse(name, feeder, spec.mode))
    return out


def _wait(spec: FlowFile) -> Wait | None:
    wait = spec.config.wait_time
    if wait is None:
        return None
    if wait.between is not None:
        return between(*wait.between)
    if wait.constant is not None:
        return constant(wait.constant)
    assert wait.pacing is not None
    return pacing(wait.pacing)


async def _request(user: User, method: str, spec: RequestSpec, variables: dict[str, Any]) -> Response:
    kwargs: dict[str, Any] = {
        "name": spec.name,
        "headers": render(spec.headers, variables) or None,
        "tags": spec.tags or None,
        "allow_redirects": spec.follow_redirects,
    }
    if spec.json_body is not None:
        kwargs["json"] = render(spec.json_body, variables)
    elif spec.form is not None:
        kwargs["data"] = render(spec.form, variables)
    elif spec.body is not None:
        kwargs["data"] = str(render(spec.body, variables)).encode()
    return await user.http.request(method.upper(), render(spec.url, variables), **kwargs)


def _after(
    user: User, resp: Response, captures: list[CaptureSpec], checks: list[CheckSpec], variables: dict[str, Any]
) -> None:
    for check in checks:
        passed = False
        try:
            passed = check_passes(check, resp, variables)
        except Exception:
            passed = False
        user.registry.add_check(check_name(check, resp.name), passed)
    for capture in captures:
        found = capture_value(resp, capture)
        if not found:
            raise CaptureFailed(f"capture {capture.as_!r}: nothing found in {resp.name} (status {resp.status})")
        variables.update(found)


async def _sse(user: User, step: StepSpec, variables: dict[str, Any]) -> None:
    spec = step.sse
    assert spec is not None
    got = 0
    url = render(spec.url, variables)
    async with user.http.sse(url, name=spec.name, headers=render(spec.headers, variables) or None) as stream:
        while got < spec.events and await stream.next_event(timeout=spec.timeout) is not None:
            got += 1
        user.registry.add_check(f"{stream.name} {spec.events} events", got == spec.events)


async def run_flow(user: User, flow: FlowSpec, feeders: list[_FeederUse], env: dict[str, str] | None = None) -> None:
    variables: dict[str, Any] = {**(env or {}), "vu_id": user.vu_id, "iteration": user.iteration}
    for use in feeders:
        for column, value in use.row(user.vu_id).items():
            variables[f"{use.name}.{column}"] = value
    last: Response | None = None
    with user.step(flow.name):
        for step in flow.steps:
            kind = step.kind
            if kind == "think":
                await asyncio.sleep(step.think or 0.0)
            elif kind == "sse":
                await _sse(user, step, variables)
            elif kind == "submit_form":
                form = step.submit_form
                assert form is not None
                if last is None:
                    raise CaptureFailed(f"flow {flow.name!r}: submit_form needs a page fetched before it")
                fields = render(form.fields, variables)
                last = await last.submit_form(form.selector, fields, name=form.name)
                _after(user, last, form.capture, form.check, variables)
            else:
                spec: RequestSpec = getattr(step, kind)
                last = await _request(user, kind, spec, variables)
                _after(user, last, spec.capture, spec.check, variables)


def _flow_task(
    flow: FlowSpec, feeders: list[_FeederUse], env: dict[str, str]
) -> Callable[[User], Coroutine[Any, Any, None]]:
    async def run(self: User) -> None:
        await run_flow(self, flow, feeders, env)

    run.__name__ = run.__qualname__ = re.sub(r"\W", "_", flow.name)
    return task(flow.weight)(run)


def make_user_class(
    spec: FlowFile, feeders: list[_FeederUse], stem: str, env: dict[str, str] | None = None
) -> type[User]:
    """A User class with one weighted task per flow; `env` (`{"env.NAME": value}`) is in every flow's variables."""
    namespace: dict[str, Any] = {"wait_time": _wait(spec), "timeout": spec.config.timeout}
    for index, flow in enumerate(spec.flows):
        namespace[f"flow_{index}"] = _flow_task(flow, feeders, env or {})
    class_name = "Flows_" + re.sub(r"\W", "_", stem)
    return type(class_name, (User,), namespace)


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
    return ScriptScenario(options=options, thresholds=thresholds, classes=[cls], bases={cls: base})
