"""Executor plans from command-line options or a script's k6-style `options` (pure; errors name the option).

A script's options are checked key by key against `OPTION_TYPES` before anything else: a value of the wrong
type or out of range is an `OptionError` naming the key and what it expects, never a traceback later on.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from greenflag.load.engine import schedules as sch
from greenflag.units import parse_duration

__all__ = ["OPTION_KEYS", "OPTION_TYPES", "OptionError", "PlanOptions", "build_plan", "from_mapping", "parse_stage"]
__pure__ = True


class OptionError(ValueError):
    """A script option with a value of the wrong type or out of range; `key` is its path (`vus`, `stages[1].target`)."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _integer(minimum: int) -> Callable[[str, Any], int]:
    def check(key: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise OptionError(key, f"expected an integer ≥ {minimum}, got {_shown(value)}")
        return value

    return check


def _number(minimum: float, *, strict: bool = False) -> Callable[[str, Any], float]:
    def check(key: str, value: Any) -> float:
        bad = isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value)
        if bad or value < minimum or (strict and value == minimum):
            bound = f"> {minimum:g}" if strict else f"≥ {minimum:g}"
            raise OptionError(key, f"expected a number {bound}, got {_shown(value)}")
        return float(value)

    return check


def _duration(key: str, value: Any) -> float:
    try:
        seconds = parse_duration(value)
    except ValueError:
        raise OptionError(
            key, f"expected a duration such as '30s', '5m' or a number of seconds, got {_shown(value)}"
        ) from None
    if not math.isfinite(seconds):
        raise OptionError(key, f"expected a finite duration, got {_shown(value)}")
    return seconds


def _executor(key: str, value: Any) -> str:
    if not isinstance(value, str) or value not in sch.EXECUTORS:
        raise OptionError(key, f"expected one of {', '.join(sch.EXECUTORS)}, got {_shown(value)}")
    return value


def _stages(key: str, value: Any) -> tuple[sch.Stage, ...]:
    if not isinstance(value, list | tuple):
        raise OptionError(key, f"expected a list such as [{{'duration': '30s', 'target': 10}}], got {_shown(value)}")
    out = []
    for index, stage in enumerate(value):
        where = f"{key}[{index}]"
        if not isinstance(stage, Mapping) or set(stage) != {"duration", "target"}:
            raise OptionError(where, f"expected {{'duration': '30s', 'target': 10}}, got {_shown(stage)}")
        out.append(
            sch.Stage(_duration(f"{where}.duration", stage["duration"]), _number(0)(f"{where}.target", stage["target"]))
        )
    return tuple(out)


def _thresholds(key: str, value: Any) -> Any:
    if not isinstance(value, Mapping):
        raise OptionError(key, f"expected a mapping of METRIC: [EXPR, ...], got {_shown(value)}")
    return value  # the expressions themselves are parsed (and their errors named) by metrics.thresholds


# key → (field of PlanOptions, check); several spellings (k6's camelCase and snake_case) of one field
OPTION_TYPES: dict[str, tuple[str, Callable[[str, Any], Any]]] = {
    "executor": ("executor", _executor),
    "vus": ("vus", _integer(1)),
    "duration": ("duration", _duration),
    "rate": ("rate", _number(0, strict=True)),
    "max_vus": ("max_vus", _integer(1)),
    "maxVUs": ("max_vus", _integer(1)),
    "stages": ("stages", _stages),
    "iterations": ("iterations", _integer(1)),
    "start_rate": ("start", _number(0)),
    "startRate": ("start", _number(0)),
    "start_vus": ("start", _integer(0)),
    "startVUs": ("start", _integer(0)),
    "graceful_stop": ("graceful_stop", _duration),
    "gracefulStop": ("graceful_stop", _duration),
    "thresholds": ("thresholds", _thresholds),
}
OPTION_KEYS = frozenset(OPTION_TYPES)


@dataclass(frozen=True)
class PlanOptions:
    executor: str | None = None
    vus: int | None = None
    duration: float | None = None
    rate: float | None = None
    max_vus: int | None = None
    stages: tuple[sch.Stage, ...] = ()
    iterations: int | None = None
    start: float | None = None  # start VUs (ramping-vus) or start rate (ramping-arrival-rate)
    graceful_stop: float | None = None  # seconds for running iterations at the end (k6's gracefulStop)

    def merged(self, override: PlanOptions) -> PlanOptions:
        """`override`'s values win where set (command line over the script's options)."""
        changes = {k: v for k, v in override.__dict__.items() if v not in (None, ())}
        return replace(self, **changes)


def parse_stage(text: str) -> sch.Stage:
    """'30s:100' → Stage(30.0, 100)."""
    duration, sep, target = text.partition(":")
    if not sep:
        raise ValueError(f"{text!r} is not DURATION:TARGET such as 30s:100")
    try:
        return sch.Stage(parse_duration(duration), float(target))
    except ValueError:
        raise ValueError(f"{text!r} is not DURATION:TARGET such as 30s:100") from None


def from_mapping(options: Mapping[str, Any]) -> PlanOptions:
    """k6-style options (see OPTION_TYPES; `thresholds` is left to the caller). Raises OptionError naming the key:
    an unknown key, two spellings of one option, or a value of the wrong type or out of range."""
    fields: dict[str, Any] = {}
    spelled: dict[str, str] = {}
    for raw_key, value in options.items():
        key = str(raw_key)
        if key not in OPTION_TYPES or not isinstance(raw_key, str):
            raise OptionError(key, f"unknown option (known: {', '.join(sorted(OPTION_KEYS))})")
        field_name, check = OPTION_TYPES[key]
        if field_name in spelled:
            raise OptionError(key, f"given twice (also as {spelled[field_name]})")
        spelled[field_name] = key
        if value is None:
            continue
        checked = check(key, value)
        if field_name != "thresholds":
            fields[field_name] = checked
    return PlanOptions(**fields)


def _default_executor(o: PlanOptions) -> str:
    if o.rate is not None:
        return "ramping-arrival-rate" if o.stages else "constant-arrival-rate"
    if o.stages:
        return "ramping-vus"
    if o.iterations is not None:
        return "shared-iterations"
    return "constant-vus"


def build_plan(o: PlanOptions, *, default_vus: int = 10, default_duration: float = 10.0) -> sch.ExecutorConfig:
    """Raises ValueError naming the option (--vus, --rate, --stage, …) when the combination does not work."""
    name = o.executor or _default_executor(o)
    vus = o.vus if o.vus is not None else default_vus
    duration = o.duration if o.duration is not None else default_duration
    plan: sch.ExecutorConfig
    if name == "constant-vus":
        plan = sch.ConstantVUs(vus, duration)
    elif name == "ramping-vus":
        if not o.stages:
            raise ValueError("--executor ramping-vus needs --stage DURATION:VUS (repeatable)")
        plan = sch.RampingVUs(int(o.start or 0), o.stages)
    elif name in ("constant-arrival-rate", "ramping-arrival-rate"):
        peak = max([o.rate or 0.0, o.start or 0.0, *(s.target for s in o.stages)])
        if peak <= 0:
            raise ValueError(f"--executor {name} needs --rate N (iterations per second)")
        pre = o.vus if o.vus is not None else max(1, min(100, math.ceil(peak)))
        max_vus = o.max_vus if o.max_vus is not None else max(pre, min(10_000, math.ceil(peak * 10)))
        if name == "constant-arrival-rate":
            plan = sch.ConstantArrivalRate(float(o.rate or peak), duration, pre, max_vus)
        else:
            if not o.stages:
                raise ValueError("--executor ramping-arrival-rate needs --stage DURATION:RATE (repeatable)")
            start = o.start if o.start is not None else (o.rate or 0.0)
            plan = sch.RampingArrivalRate(float(start), o.stages, pre, max_vus)
    elif name in ("shared-iterations", "per-vu-iterations"):
        if o.iterations is None:
            raise ValueError(f"--executor {name} needs --iterations N")
        max_duration = o.duration if o.duration is not None else 600.0
        cls = sch.SharedIterations if name == "shared-iterations" else sch.PerVUIterations
        plan = cls(vus, o.iterations, max_duration)
    else:
        raise ValueError(f"--executor {name!r} is not one of {', '.join(sch.EXECUTORS)}")
    problems = sch.validate(plan)
    if problems:
        raise ValueError(f"--executor {name}: " + "; ".join(problems))
    return plan
