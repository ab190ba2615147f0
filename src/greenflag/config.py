"""greenflag.yaml → validated models. Every error names the file, the key path, the line and what is expected.

The section models live in `greenflag.spec`; this module owns loading and error reporting.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from greenflag.errors import ConfigError
from greenflag.spec import Spec

__all__ = ["format_validation_error", "load_spec", "load_yaml", "parse_model"]

M = TypeVar("M", bound=BaseModel)
KeyPath = tuple[str | int, ...]


def _node_lines(node: yaml.Node, path: KeyPath, out: dict[KeyPath, int]) -> None:
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            out[(*path, key)] = key_node.start_mark.line + 1
            _node_lines(value_node, (*path, key), out)
            out[(*path, key)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _node_lines(item, (*path, index), out)


def load_yaml(path: Path) -> tuple[Any, dict[KeyPath, int]]:
    """Read a YAML file; returns the data and a map key path → line number."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
        node = yaml.compose(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}{where}: not valid YAML: {exc.problem}") from None
    lines: dict[KeyPath, int] = {}
    if node is not None:
        _node_lines(node, (), lines)
    return data, lines


def format_key_path(loc: tuple[str | int, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "(top level)"


def _clean_loc(loc: tuple[str | int, ...]) -> KeyPath:
    # pydantic inserts union member tags (e.g. 'SetWeightStep', 'function-after[...]') into locations.
    tags = {"set_weight", "pause", "analysis"}
    out: list[str | int] = []
    for i, part in enumerate(loc):
        if isinstance(part, str) and (part[:1].isupper() or "[" in part):
            continue
        if part in tags and i > 0 and isinstance(loc[i - 1], int) and i + 1 < len(loc):
            continue  # the discriminator tag pydantic adds before the step's own keys
        out.append(part)
    return tuple(out)


def format_validation_error(err: ValidationError, source: str, lines: dict[KeyPath, int] | None = None) -> ConfigError:
    problems = []
    seen = set()
    for item in err.errors(include_url=False):
        loc = _clean_loc(tuple(item["loc"]))
        line = None
        if lines:
            probe = loc
            while probe and probe not in lines:
                probe = probe[:-1]
            line = lines.get(probe)
        where = f"{source}:{line}" if line else source
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown key"
        elif item["type"] == "missing":
            message = "required key is missing"
        text = f"{where}: {format_key_path(loc)}: {message}"
        if text not in seen:
            seen.add(text)
            problems.append(text)
    count = len(problems)
    return ConfigError(f"{source}: {count} problem{'s' if count != 1 else ''} found", problems=problems)


def parse_model(model: type[M], data: Any, source: str, lines: dict[KeyPath, int] | None = None) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise format_validation_error(err, source, lines) from None


def load_spec(path: str | Path) -> Spec:
    """Load and validate greenflag.yaml."""
    file = Path(path)
    data, lines = load_yaml(file)
    if not isinstance(data, dict):
        raise ConfigError(f"{file}: expected a mapping with keys such as service, router, platform, strategy")
    spec = parse_model(Spec, data, str(file), lines)
    spec.source = file
    return spec
