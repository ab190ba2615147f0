"""What a command writes about its run: the time series (`--out PATH.jsonl`, one line as each interval closes),
the HTML report (`--html`), the JUnit XML (`--junit`), and what it shows a live view (`--dashboard`).

`load run`, `rollout start --wait` and `demo` make one `Outputs`, hand its sink factory to the load runner and
its `on_status` to the rollout, and call `finish()` at the end. The live view is anything with the `LiveView`
methods (greenflag.web.dashboard.Dashboard); this module does not import it.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

from greenflag.errors import UsageError
from greenflag.load.metrics.series import Registry
from greenflag.load.metrics.timeseries import TimeSeries
from greenflag.report.html import render_html
from greenflag.report.inputs import write_text
from greenflag.report.junit import JUnitCase, write_junit
from greenflag.report.junit_cases import load_cases, rollout_cases
from greenflag.report.model import report_model

__all__ = ["LiveView", "Outputs", "check_output_path"]


class LiveView(Protocol):
    def add_line(self, line: dict[str, Any]) -> None: ...

    def set_summary(self, summary: dict[str, Any]) -> None: ...

    def set_statuses(self, statuses: list[dict[str, Any]], samples: dict[int, list[dict[str, Any]]]) -> None: ...

    def finish(self) -> None: ...


def check_output_path(option: str, path: Path | None) -> None:
    """Fail before any traffic when an output cannot be written (exit 2)."""
    if path is None:
        return
    if path.is_dir():
        raise UsageError(f"{option} {path}: is a directory; give a file name")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"{option} {path}: cannot create {path.parent}: {exc.strerror or exc}") from None
    if not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise UsageError(f"{option} {path}: not writable")


@dataclass
class Outputs:
    title: str = "greenflag"
    series_path: Path | None = None
    html_path: Path | None = None
    junit_path: Path | None = None
    interval_s: int = 1
    live: LiveView | None = None
    lines: list[dict[str, Any]] = field(default_factory=list)
    summaries: list[dict[str, Any]] = field(default_factory=list)
    statuses: dict[int, dict[str, Any]] = field(default_factory=dict)  # rollout id → its latest status
    samples: dict[int, list[dict[str, Any]]] = field(default_factory=dict)  # rollout id → weights over time
    _file: IO[str] | None = None

    def check(self) -> None:
        for option, path in (("--out", self.series_path), ("--html", self.html_path), ("--junit", self.junit_path)):
            check_output_path(option, path)

    @property
    def wants_series(self) -> bool:
        return self.series_path is not None or self.html_path is not None or self.live is not None

    # -- feeds -----------------------------------------------------------------------------------------------
    def sink_factories(self) -> list[Callable[[Registry], Any]]:
        """For RunConfig.sink_factories: the time series, when anything wants it."""
        if not self.wants_series:
            return []
        return [lambda registry: TimeSeries(registry, interval_s=self.interval_s, on_line=self.add_line)]

    def add_line(self, line: dict[str, Any]) -> None:
        self.lines.append(line)
        if self._file is None and self.series_path is not None:  # opened at the first line: bad input loses nothing
            self._file = self.series_path.open("w", encoding="utf-8")
        if self._file is not None:
            self._file.write(json.dumps(line, separators=(",", ":")) + "\n")
            self._file.flush()
        if self.live is not None:
            self.live.add_line(line)

    def add_summary(self, summary: dict[str, Any]) -> None:
        self.summaries.append(summary)
        if self.live is not None:
            self.live.set_summary(summary)

    def on_status(self, status: dict[str, Any]) -> None:
        """A rollout's status as it changes (the `rollout status --json` document): kept, weights sampled."""
        rollout_id = int(status.get("rollout_id", 0))
        self.statuses[rollout_id] = status
        samples = self.samples.setdefault(rollout_id, [])
        weights = {str(k): int(v) for k, v in (status.get("weights") or {}).items()}
        if weights and (not samples or samples[-1]["weights"] != weights):
            epoch = (status.get("epochs") or {}).get("updated_at") or time.time()
            samples.append({"t": float(epoch), "weights": weights})
        if self.live is not None:
            self.live.set_statuses(list(self.statuses.values()), self.samples)

    # -- the end -----------------------------------------------------------------------------------------------
    def model(self) -> dict[str, Any]:
        summary = self.summaries[-1] if self.summaries else None
        statuses = [self.statuses[k] for k in sorted(self.statuses)]
        return report_model(
            title=self.title, summary=summary, lines=self.lines, statuses=statuses, samples=self.samples
        )

    def cases(self) -> list[JUnitCase]:
        cases = [case for summary in self.summaries for case in load_cases(summary)]
        for rollout_id in sorted(self.statuses):
            cases += rollout_cases(self.statuses[rollout_id])
        return cases

    def finish(self, suite: str) -> None:
        """Close the series file; write the HTML and the JUnit XML; tell the live view the run is over."""
        if self._file is None and self.series_path is not None:
            self._file = self.series_path.open("w", encoding="utf-8")  # a run with no interval: an empty series
        if self._file is not None:
            self._file.close()
            self._file = None
        if self.html_path is not None:
            write_text(self.html_path, render_html(self.model()), "--html")
        if self.junit_path is not None:
            try:
                write_junit(self.junit_path, suite, self.cases())
            except OSError as exc:
                raise UsageError(f"--junit {self.junit_path}: cannot write: {exc.strerror or exc}") from None
        if self.live is not None:
            self.live.finish()
