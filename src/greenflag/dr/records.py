"""A drill's outputs: the JSON record (always written), the Markdown audit record, the terminal summary.

Records go to a directory (default `.greenflag/drills/`), one pair per drill: `<kind>-<UTC YYYYmmddTHHMMSSZ>.json`
with exactly the JSON `--json` prints, and a `.md` beside it for humans and audit trails.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from greenflag.dr.model import DrillResult, Event
from greenflag.units import format_duration

__all__ = ["event_line", "markdown", "objective_rows", "record_paths", "summary", "write_records"]


def _stamp(iso_text: str) -> str:
    return datetime.fromisoformat(iso_text).strftime("%Y%m%dT%H%M%SZ")


def record_paths(result: DrillResult, directory: Path) -> tuple[Path, Path]:
    """Where this drill's JSON and Markdown records go (a `-N` suffix when a drill already took that second)."""
    stem = f"{result.kind}-{_stamp(result.finished_at)}"
    name, n = stem, 1
    while (directory / f"{name}.json").exists():
        n += 1
        name = f"{stem}-{n}"
    return directory / f"{name}.json", directory / f"{name}.md"


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_records(result: DrillResult, directory: Path) -> dict[str, Any]:
    """Write the JSON and Markdown records; the JSON document (which names both files)."""
    directory.mkdir(parents=True, exist_ok=True)
    json_path, md_path = record_paths(result, directory)
    data = result.to_json()
    data["records"] = {"json": str(json_path), "markdown": str(md_path)}
    _atomic_write(json_path, json.dumps(data, indent=2) + "\n")
    _atomic_write(md_path, markdown(result, data["records"]))
    return data


def _value(seconds: float | None) -> str:
    return "not measured" if seconds is None else format_duration(seconds)


def _protection(result: DrillResult) -> str:
    p = result.protection
    method = str(p.get("method", "?"))
    if "synchronous" in p:
        return f"{method} ({'synchronous' if p['synchronous'] else 'asynchronous'})"
    for key, label in (("archive_timeout_s", "archive_timeout"), ("interval_s", "every")):
        if key in p:
            return f"{method} ({label} {format_duration(float(p[key]))})"
    return method


def objective_rows(result: DrillResult) -> list[tuple[str, str, str, bool]]:
    """(name, measured, limit, met) for each objective the drill was held to."""
    o = result.objectives
    rows = [
        ("RTO", _value(result.rto_s), format_duration(o.rto_s), result.rto_s is not None and result.rto_s <= o.rto_s),
        ("RPO", _value(result.rpo_s), format_duration(o.rpo_s), result.rpo_s is not None and result.rpo_s <= o.rpo_s),
    ]
    if o.max_writes_lost is not None:
        rows.append(
            (
                "writes lost",
                str(result.writes_lost),
                f"≤ {o.max_writes_lost}",
                result.rto_s is not None and result.writes_lost <= o.max_writes_lost,
            )
        )
    return rows


def summary(result: DrillResult, records: dict[str, Any] | None = None) -> str:
    lines = [
        f"greenflag drill {result.kind}: {'PASSED' if result.ok else 'FAILED'}",
        f"  protection   {_protection(result)}",
    ]
    for name, value, limit, ok in objective_rows(result):
        lines.append(f"  {name:<12} {value:<14} objective {limit:<8} {'ok' if ok else 'MISSED'}")
    lines.append(
        f"  writes       {result.writes_acknowledged} acknowledged, {result.writes_recovered} recovered, "
        f"{result.writes_lost} lost"
    )
    if result.findings:
        lines.append("  findings")
        lines += [f"    [{f.severity}] {f.id}: {f.message}" for f in result.findings]
    else:
        lines.append("  findings     none")
    if records:
        lines.append(f"  record       {records['json']} (+ {Path(records['markdown']).name})")
    if result.extra.get("kept"):
        for key, value in result.extra["kept"].items():
            lines.append(f"  kept         {key}: {value}")
    return "\n".join(lines)


def markdown(result: DrillResult, records: dict[str, Any] | None = None) -> str:
    """The audit-trail record: verdict, measurements against objectives, findings, and the timeline."""
    out = [
        f"# Drill record: {result.kind} — {'PASSED' if result.ok else 'FAILED'}",
        "",
        f"- Started: {result.started_at}",
        f"- Finished: {result.finished_at}",
        f"- Protection: {_protection(result)}",
        f"- Writes: {result.writes_acknowledged} acknowledged, {result.writes_recovered} recovered, "
        f"{result.writes_lost} lost",
        "",
        "| objective | measured | limit | met |",
        "|---|---|---|---|",
    ]
    out += [
        f"| {name} | {value} | {limit} | {'yes' if ok else '**no**'} |"
        for name, value, limit, ok in objective_rows(result)
    ]
    out += ["", "## Findings", ""]
    out += [f"- **{f.severity}** `{f.id}`: {f.message}" for f in result.findings] or ["None."]
    out += ["", "## Timeline", "", "| t (s) | UTC | event | detail |", "|---:|---|---|---|"]
    for event in result.timeline:
        detail = ", ".join(f"{k}={v}" for k, v in event.detail.items()).replace("|", "\\|")
        out.append(f"| {event.t:.3f} | {event.at} | {event.event} | {detail} |")
    if records:
        out += ["", f"Machine-readable record: `{records['json']}`"]
    return "\n".join(out) + "\n"


def event_line(event: Event) -> str:
    """One progress line for the terminal."""
    detail = " ".join(f"{k}={v}" for k, v in event.detail.items() if v not in (None, "", [], {}))
    return f"[{event.t:8.3f}s] {event.event:<24} {detail}"[:200]
