"""node_exporter textfile-collector files (`--prom-file PATH`): backup freshness, restore drills, certificates.

The contract for the commands that write them (`greenflag check all|tls`, `greenflag drill postgres|sqlite`):
call `write_textfile(path, samples)` once at the end of the run with that run's values; the file is replaced
atomically (written beside it, then renamed), so node_exporter never reads half a file. Point PATH into the
directory given to node_exporter's `--collector.textfile.directory`, with a `.prom` suffix, one file per command
(they replace, not merge). Series and labels are those of `greenflag.ops.metric_names` (source `textfile`).

    write_textfile("/var/lib/node_exporter/textfile/greenflag-drill.prom", drill_samples(
        "postgres", ok=True, finished_at=time.time(), rto_s=41.2, rpo_s=0.4, writes_lost=0))
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from greenflag.errors import UsageError
from greenflag.ops import metric_names as m

__all__ = ["Sample", "backup_samples", "drill_samples", "render_textfile", "tls_samples", "write_textfile"]


@dataclass(frozen=True)
class Sample:
    metric: m.Metric
    labels: dict[str, str]
    value: float


def backup_samples(service: str, kind: str, newest_at: float) -> list[Sample]:
    return [Sample(m.BACKUP_NEWEST, {"service": service, "kind": kind}, newest_at)]


def drill_samples(
    kind: str, *, ok: bool, finished_at: float, rto_s: float | None, rpo_s: float | None, writes_lost: int | None
) -> list[Sample]:
    labels = {"kind": kind}
    out = [Sample(m.DRILL_LAST_RUN, labels, finished_at), Sample(m.DRILL_OK, labels, 1.0 if ok else 0.0)]
    for metric, value in ((m.DRILL_RTO, rto_s), (m.DRILL_RPO, rpo_s), (m.DRILL_WRITES_LOST, writes_lost)):
        if value is not None:
            out.append(Sample(metric, labels, float(value)))
    return out


def tls_samples(target: str, sni: str, not_after: float) -> list[Sample]:
    return [Sample(m.TLS_CERT_EXPIRY, {"target": target, "sni": sni}, not_after)]


class _Collector:
    def __init__(self, samples: Iterable[Sample]) -> None:
        self.samples = list(samples)

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        families: dict[str, Any] = {}
        for sample in self.samples:
            metric = sample.metric
            missing = set(metric.labels) ^ set(sample.labels)
            if missing:
                raise ValueError(f"{metric.name}: labels must be {', '.join(metric.labels)}")
            if metric.name not in families:
                cls = CounterMetricFamily if metric.kind == "counter" else GaugeMetricFamily
                families[metric.name] = cls(metric.name, metric.help, labels=list(metric.labels))
            families[metric.name].add_metric([sample.labels[k] for k in metric.labels], sample.value)
        yield from families.values()


def _registry(samples: Iterable[Sample]) -> Any:
    from prometheus_client import CollectorRegistry

    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Collector(samples))
    return registry


def render_textfile(samples: Iterable[Sample]) -> str:
    """The samples in the Prometheus text exposition format."""
    from prometheus_client import generate_latest

    return str(generate_latest(_registry(samples)).decode("utf-8"))


def write_textfile(path: str | Path, samples: Iterable[Sample]) -> None:
    """Replace `path` atomically with the samples. UsageError (exit 2) names the path when it cannot be written."""
    from prometheus_client import write_to_textfile

    try:
        write_to_textfile(str(path), _registry(samples))
    except OSError as exc:
        raise UsageError(f"--prom-file {path}: cannot write: {exc.strerror or exc}") from None
