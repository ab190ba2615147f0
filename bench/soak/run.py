"""A soak of the production profile: 1,000 journey users (pages, the contact form with its CSRF token, the JSON API,
one in ten holding the live SSE stream open: bench/seed_profile/seed.py) against `greenflag demo-app` for 30
minutes, the load engine and the service each pinned to one core. Every 10 s it records the engine's RSS and CPU
(from /proc: the whole process tree, workers included); the engine writes its per-second time series (`--out`).

    nohup python3 bench/soak/run.py --json /tmp/soak.json > /tmp/soak.log 2>&1 &      # 30 min + ~1 min
    python3 bench/soak/run.py --duration 3m                                           # a quick look
    python3 bench/soak/run.py --workers 2 --engine-cpu 0 --app-cpu 1                  # the workers too
    python3 bench/soak/run.py --probe /tmp/probe.jsonl              # and where the memory is, every 10 s (probe.py)

Prints a table per 5 minutes (RSS, CPU, requests per minute, p95, failed requests), the RSS growth from minute 5 to
the end and its slope (least squares over the 10 s samples from minute 5 on), and the checks: RSS growth < 5 %
with no steady slope, no failed requests, ≥ 10,000 requests per minute, p95 < 2 s, a steady per-minute rate.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SEED = ROOT / "bench" / "seed_profile" / "seed.py"
CLK_TCK = os.sysconf("SC_CLK_TCK")
SAMPLE_S = 10.0


def tree(pid: int) -> list[int]:
    """`pid` and its descendants (the engine and its worker processes)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        todo.extend(children.get(current, []))
    return out


def usage(pids: list[int]) -> tuple[float, float]:
    """(RSS MB, CPU seconds) summed over `pids`."""
    rss = cpu = 0.0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    rss += int(line.split()[1]) / 1024
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            cpu += (int(fields[11]) + int(fields[12])) / CLK_TCK
        except (OSError, IndexError, ValueError):
            continue
    return rss, cpu


def start_app(cpu: str, workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    cmd = ["taskset", "-c", cpu, sys.executable, "-m", "greenflag", "demo-app", "--port", "0", "--version", "soak"]
    cmd += ["--db", str(workdir / "demo.sqlite3")]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, start_new_session=True)
    assert proc.stdout is not None
    deadline, buffer = time.monotonic() + 30, b""
    while b"\n" not in buffer:
        if time.monotonic() > deadline or proc.poll() is not None:
            raise SystemExit(f"demo-app did not start: {buffer!r}")
        if select.select([proc.stdout], [], [], 0.2)[0]:
            buffer += os.read(proc.stdout.fileno(), 4096)
    return proc, buffer.split(b"\n", 1)[0].decode().strip().removeprefix("listening on ")


def run(args: argparse.Namespace, url: str, workdir: Path) -> tuple[list[dict[str, float]], dict[str, Any], Path]:
    from greenflag.units import parse_duration

    total = parse_duration(args.duration)
    ramp = min(30.0, total / 5)
    summary, series = workdir / "summary.json", workdir / "series.jsonl"
    engine = [str(HERE / "probe.py"), str(args.probe), "--"] if args.probe else ["-m", "greenflag"]
    cmd = ["taskset", "-c", args.engine_cpu, sys.executable, *engine, "load", "run", str(SEED)]
    cmd += ["--host", url, "--stage", f"{ramp:g}s:{args.vus}", "--stage", f"{total - ramp:g}s:{args.vus}"]
    cmd += ["--quiet", "--graceful-stop", "5s", "--summary-json", str(summary), "--out", str(series)]
    cmd += ["--workers", str(args.workers)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    samples: list[dict[str, float]] = []
    started = time.monotonic()
    next_at = started
    while proc.poll() is None:
        rss, cpu = usage(tree(proc.pid))
        samples.append({"t": round(time.monotonic() - started, 1), "rss_mb": round(rss, 2), "cpu_s": round(cpu, 2)})
        if args.verbose:
            print(json.dumps(samples[-1]), flush=True)
        next_at += SAMPLE_S
        while proc.poll() is None and time.monotonic() < next_at:
            time.sleep(0.2)
    if not summary.exists():
        raise SystemExit(f"the load run failed (exit {proc.returncode}): {proc.stderr.read() if proc.stderr else ''}")
    return samples, json.loads(summary.read_text()), series


def minutes(series: Path) -> dict[int, dict[str, Any]]:
    """Per minute of the run: requests, failed requests and the merged duration histogram."""
    from greenflag.load.metrics.intervals import Sparse, read_lines

    lines = read_lines(series.read_text(), str(series))
    t0 = lines[0]["t"]
    out: dict[int, dict[str, Any]] = {}
    for line in lines:
        minute = int((line["t"] - t0) // 60)
        entry = out.setdefault(minute, {"reqs": 0, "failed": 0, "hists": [], "covered": 0.0})
        entry["reqs"] += line["http_reqs"]
        entry["failed"] += line["http_req_failed"]
        entry["hists"].append(Sparse.from_json(line["http_req_duration"]))
        entry["covered"] += float(line.get("covered_s", line["interval_s"]))
    return out


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of y over x."""
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in points) / den if den else 0.0


def rss_slope(samples: list[dict[str, float]]) -> float:
    """The least-squares slope of RSS (MB per minute) over these samples; nan for fewer than three."""
    return slope([(s["t"] / 60, s["rss_mb"]) for s in samples]) if len(samples) > 2 else float("nan")


def decompose(probe: Path, settle: float) -> dict[str, dict[str, float]]:
    """Where the RSS growth after `settle` went, from probe.py's looks: each part's growth (kB) and slope (kB/min)."""
    looks = [json.loads(line) for line in probe.read_text().splitlines() if line.strip()]
    looks = [{"hdr_follow_kb": 0, **look} for look in looks if look["t"] >= settle]  # (earlier probes: no such row)
    if len(looks) < 3:
        print(f"\n  where the memory went: too few probe looks after minute {settle / 60:.1f} ({len(looks)})")
        return {}
    parts = {
        "RSS": lambda look: look["VmRSS"],
        "HDR buckets (the histograms)": lambda look: look["hdr_kb"],
        "HDR views and buckets not yet read": lambda look: look["hdr_follow_kb"],
        "other malloc'd memory in use": lambda look: look["heap_used_kb"] - look["hdr_kb"] - look["hdr_follow_kb"],
        "malloc's free heap kept": lambda look: look["heap_free_kb"],
        "Python objects (pymalloc)": lambda look: look["bytes_in_allocated_blocks"] / 1024,
    }
    out = {}
    print(f"\n  where the memory went from minute {settle / 60:.1f} (probe.py, a look every 10 s)")
    print("  part                                          start kB    end kB   growth kB   slope kB/min")
    for name, value in parts.items():
        points = [(look["t"] / 60, float(value(look))) for look in looks]
        out[name] = {"start_kb": points[0][1], "end_kb": points[-1][1], "growth_kb": points[-1][1] - points[0][1],
                     "slope_kb_per_min": round(slope(points), 1)}  # fmt: skip
        row = out[name]
        print(f"  {name:44} {row['start_kb']:9.0f} {row['end_kb']:9.0f} {row['growth_kb']:+11.0f} "
              f"{row['slope_kb_per_min']:+14.1f}")  # fmt: skip
    return out


def report(
    samples: list[dict[str, float]], summary: dict[str, Any], series: Path, args: argparse.Namespace
) -> dict[str, Any]:
    from greenflag.load.metrics.intervals import Sparse, hist_percentiles

    per_minute = minutes(series)
    print(f"\n  soak: {args.vus} VUs, {summary['duration_s'] / 60:.1f} min, workers {args.workers}\n")
    print("  minutes   RSS MB (end)   CPU (% of a core)   req/min   p95 ms   failed")
    rows = []
    block = 5
    for start in range(0, max(per_minute) + 1, block):
        window = [s for s in samples if start * 60 <= s["t"] < (start + block) * 60]
        if len(window) < 2:
            continue
        cpu = (window[-1]["cpu_s"] - window[0]["cpu_s"]) / (window[-1]["t"] - window[0]["t"]) * 100
        full_minutes = [m for m in range(start, start + block) if m in per_minute and per_minute[m]["covered"] >= 59]
        mins = [per_minute[m] for m in full_minutes]
        reqs = sum(m["reqs"] for m in mins) / len(mins) if mins else 0.0
        p95 = hist_percentiles(Sparse.add(h for m in mins for h in m["hists"]), [95])[0] if mins else None
        failed = sum(m["failed"] for m in mins)
        row = {"minutes": f"{start}-{start + block}", "rss_mb": window[-1]["rss_mb"], "cpu_pct": round(cpu, 1),
               "req_per_min": round(reqs), "p95_ms": p95, "failed": failed}  # fmt: skip
        rows.append(row)
        print(f"  {row['minutes']:>7}   {row['rss_mb']:12.1f}   {row['cpu_pct']:17.1f}   {row['req_per_min']:7}   "
              f"{p95 if p95 is not None else float('nan'):6.1f}   {failed:6}")  # fmt: skip
    settle = 300.0 if samples[-1]["t"] >= 600 else samples[-1]["t"] / 2  # minute 5, or half of a short run
    steady = [s for s in samples if s["t"] >= settle]
    growth = (steady[-1]["rss_mb"] - steady[0]["rss_mb"]) / steady[0]["rss_mb"] * 100 if steady else float("nan")
    per_min = rss_slope(steady)
    # a leak keeps its slope; growth that is bounded (histograms reaching their size, the allocator's high water)
    # flattens: the slope of each half of the steady part tells them apart
    middle = (steady[0]["t"] + steady[-1]["t"]) / 2 if steady else 0.0
    halves = [[s for s in steady if s["t"] < middle], [s for s in steady if s["t"] >= middle]]
    half_slopes = [rss_slope(h) for h in halves]
    # and over a longer run, the slope of each 10 minutes from minute 5: bounded growth falls from window to window
    windows = [[s for s in steady if w <= s["t"] < w + 600] for w in range(int(settle), int(samples[-1]["t"]), 600)]
    window_slopes = [rss_slope(w) * 1000 for w in windows if len(w) >= 30]
    full = [m["reqs"] for k, m in sorted(per_minute.items()) if m["covered"] >= 59 and k >= 1]
    spread = (max(full) - min(full)) / statistics.fmean(full) * 100 if full else float("nan")
    metrics = summary["metrics"]
    result = {
        "rows": rows,
        "rss_growth_pct_from_minute_5": round(growth, 2),
        "rss_slope_mb_per_min_from_minute_5": round(per_min, 4),
        "rss_slope_mb_per_min_halves": [round(h, 4) for h in half_slopes],
        "rss_slope_kb_per_min_by_10_minutes": [round(w, 1) for w in window_slopes],
        "requests": metrics["http_reqs"]["count"],
        "failed": metrics["http_req_failed"]["fails"],
        "req_per_min": round(metrics["http_reqs"]["rate"] * 60),
        "p95_ms": metrics["http_req_duration"]["p95"],
        "per_minute_rate_spread_pct": round(spread, 1),
        "per_minute_rate_min_max": [min(full), max(full)] if full else None,
        "generator": summary.get("generator"),
        "http_req_duration": summary.get("metrics", {}).get("http_req_duration"),  # max: the tail the RSS may follow
        "samples": samples,
    }
    if args.probe is not None:
        result["memory_from_minute_5"] = decompose(args.probe, settle)
    first, last = steady[0]["rss_mb"], steady[-1]["rss_mb"]
    print(f"\n  RSS from minute {settle / 60:.1f} to the end: {first:.1f} → {last:.1f} MB "
          f"({growth:+.2f} %, target < 5 %), slope {per_min * 1000:+.1f} kB/min (least squares); first half "
          f"{half_slopes[0] * 1000:+.1f} kB/min, second half {half_slopes[1] * 1000:+.1f} kB/min")  # fmt: skip
    if samples[-1]["t"] > 1860 and (first30 := [s for s in steady if s["t"] <= 1800]):  # a longer run: minute 5-30
        print(f"  RSS from minute 5 to 30: {first30[0]['rss_mb']:.1f} → {first30[-1]['rss_mb']:.1f} MB "
              f"({(first30[-1]['rss_mb'] / first30[0]['rss_mb'] - 1) * 100:+.2f} %)")  # fmt: skip
    if len(window_slopes) > 1:
        print("  slope of each 10 minutes from minute 5, kB/min: " + ", ".join(f"{w:+.1f}" for w in window_slopes))
    print(f"  requests {result['requests']} ({result['req_per_min']:,}/min, target ≥ 10,000), "
          f"failed {result['failed']},"
          f" p95 {result['p95_ms']} ms (target < 2,000), per-minute rate {result['per_minute_rate_min_max']}"
          f" ({spread:.1f} % spread)")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vus", type=int, default=1000)
    parser.add_argument("--duration", default="30m")
    parser.add_argument("--workers", default="1")
    parser.add_argument("--engine-cpu", default="0")
    parser.add_argument("--app-cpu", default="1")
    parser.add_argument("--json", type=Path, default=None, help="write the samples and the result here")
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--probe", type=Path, default=None, help="run the engine under probe.py, its looks to here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        app, url = start_app(args.app_cpu, workdir)
        try:
            samples, summary, series = run(args, url, workdir)
            result = report(samples, summary, series, args)
        finally:
            os.killpg(app.pid, signal.SIGTERM)
            app.wait(timeout=30)
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
