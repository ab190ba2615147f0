"""What accumulates in a long journey run: the production profile (bench/seed_profile/seed.py) run in this process
with tracemalloc on, a snapshot every --every seconds, and the allocation sites that grew the most between the
snapshot at --baseline seconds and each later one, by source line (with the whole traceback of the top ones).

    taskset -c 0 python3 bench/soak/tracemem.py --host http://127.0.0.1:PORT --duration 10m

Start `greenflag demo-app` yourself (pinned to the other core). tracemalloc makes Python 2-3x slower; the run
still holds the 1,000 users at a fraction of a core. Prints the growth of traced memory and RSS over time too.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import ctypes
import gc
import linecache
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

from probe import malloc_info, pymalloc_info

HERE = Path(__file__).resolve().parent


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def malloc_stats() -> str:
    """glibc's view: heap obtained from the OS, in use, free but kept, mmapped (probe.malloc_info)."""
    info = malloc_info()
    if not info:
        return "mallinfo2 unavailable"
    return (
        f"heap {info['heap_kb'] / 1024:.1f} MiB: in use {info['heap_used_kb'] / 1024:.1f}, "
        f"free {info['heap_free_kb'] / 1024:.1f}; mmapped {info['mmap_kb'] / 1024:.1f} MiB"
    )


def pymalloc_stats() -> str:
    """pymalloc's arenas (1 MiB each in 3.11) now and at most, and the bytes in its blocks (probe.pymalloc_info)."""
    info = pymalloc_info()
    return (
        f"arenas {info.get('arenas_allocated_current', '?')} (high water {info.get('arenas_highwater_mark', '?')}), "
        f"pymalloc blocks {info.get('bytes_in_allocated_blocks', '?')} B"
    )


def trim() -> None:
    """Give glibc's free heap pages back to the OS (what RSS would be without allocator slack)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def histogram_growth(lengths: dict[str, int]) -> list[str]:
    """Which of the run's histograms grew their counts array since the last look (by metric and series), and
    the highest value each now holds (ms)."""
    out = []
    for registry in (obj for obj in gc.get_objects() if type(obj).__name__ == "Registry"):
        named = [("iteration_duration", registry.iteration_duration)]
        named += [(f"{m}{dict(t)}", h) for (m, t), h in registry.trends.items()]
        for key, series in registry.series.items():
            label = f"{key[0]} {key[2]}"
            named += [(f"{label} duration", series.duration), (f"{label} latency", series.latency)]
            named += [(f"{label} waiting", series.waiting), (f"{label} receiving", series.receiving)]
            named += [(f"{label} {name}", hist) for name, hist in series.sparse.items()]
        for label, hist in named:
            size = hist.nbytes
            if size != lengths.get(label, 0):
                before = lengths.get(label, 0) / 1024
                out.append(f"{label}: {before:.1f} -> {size / 1024:.1f} KiB, max {hist.max / 1000:.1f} ms")
            lengths[label] = size
    return out


def plain_look(
    elapsed: float, args: argparse.Namespace, lengths: dict[str, int], types: dict[str, int], sizes: dict[int, int]
) -> None:
    """One look without tracemalloc: RSS, the allocators, the histograms' counts and which of them grew, and the
    object types whose number changed the most since the last look."""
    counts: dict[str, int] = {}
    for obj in gc.get_objects():
        counts[type(obj).__name__] = counts.get(type(obj).__name__, 0) + 1
    changed = sorted(((n - types.get(t, 0), t) for t, n in counts.items()), reverse=True)
    common = [f"{t} {d:+d}" for d, t in changed[:6]] if types else []
    if args.types:
        common = [f"{t}={counts.get(t, 0)}" for t in args.types.split(",")] + common
    types.clear()
    types.update(counts)
    hists = [obj for obj in gc.get_objects() if type(obj).__name__ == "Histogram"]
    hdr_kb = sum(h.nbytes for h in hists) / 1024
    grown = histogram_growth(lengths) + container_growth(sizes)
    before = rss_mb()
    if args.trim:
        trim()
    print(
        f"=== {elapsed:.0f}s: RSS {before:.1f} MB (trimmed {rss_mb():.1f}); {malloc_stats()}; {pymalloc_stats()}; "
        f"python blocks {sys.getallocatedblocks()}; HDR counts {hdr_kb:.0f} KiB in {len(hists)} histograms; "
        f"objects {common}",
        flush=True,
    )
    for line in grown:
        print("   ", line, flush=True)


def container_growth(sizes: dict[int, int]) -> list[str]:
    """The containers (dict, list, set, deque) still alive since the last look whose length grew the most: what
    keeps objects the collector does not track (str, bytes, int) alive in growing numbers."""
    now: dict[int, int] = {}
    grew: list[tuple[int, Any]] = []
    for obj in gc.get_objects():
        if isinstance(obj, dict | list | set | collections.deque):
            now[id(obj)] = len(obj)
            if id(obj) in sizes and len(obj) > sizes[id(obj)]:
                grew.append((len(obj) - sizes[id(obj)], obj))
    sizes.clear()
    sizes.update(now)
    out = []
    for delta, obj in sorted(grew, key=lambda item: -item[0])[:5]:
        sample = list(obj.items())[-2:] if isinstance(obj, dict) else list(obj)[-2:]
        owners = [type(r).__name__ for r in gc.get_referrers(obj) if r is not grew][:3]
        out.append(f"{type(obj).__name__} +{delta} (now {len(obj)}), held by {owners}: {str(sample)[:160]}")
    return out


def grown(
    baseline: tracemalloc.Snapshot, now: tracemalloc.Snapshot, key: str, by: str
) -> list[tracemalloc.StatisticDiff]:
    """The allocation sites that grew the most between two snapshots, by bytes (`by` "size") or blocks ("count")."""
    skip = [tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, "<frozen importlib._bootstrap>")]
    skip.append(tracemalloc.Filter(False, linecache.__file__))  # the probe's own tracebacks
    diff = now.filter_traces(skip).compare_to(baseline.filter_traces(skip), key)
    if by == "count":
        diff.sort(key=lambda stat: -stat.count_diff)
    return [stat for stat in diff if (stat.count_diff if by == "count" else stat.size_diff) > 0]


def top(baseline: tracemalloc.Snapshot, now: tracemalloc.Snapshot, count: int, key: str, by: str) -> list[str]:
    return [str(stat) for stat in grown(baseline, now, key, by)[:count]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", required=True)
    parser.add_argument("--duration", default="10m")
    parser.add_argument("--vus", type=int, default=1000)
    parser.add_argument("--every", type=float, default=120.0)
    parser.add_argument("--baseline", type=float, default=120.0)
    parser.add_argument("--frames", type=int, default=12)
    parser.add_argument("--by", choices=("size", "count"), default="size", help="rank sites by bytes or by blocks")
    parser.add_argument("--tracebacks", type=int, default=3, help="how many of the top sites to print in full")
    parser.add_argument("--script", default=str(HERE.parent / "seed_profile" / "seed.py"))
    parser.add_argument("--no-trace", action="store_true", help="no tracemalloc: RSS, malloc and object counts only")
    parser.add_argument("--trim", action="store_true", help="with --no-trace: RSS before and after malloc_trim(0)")
    parser.add_argument("--no-collect", action="store_true", help="no full garbage collection before each look")
    parser.add_argument("--out", default="", help="write the run's time series here, as `load run --out` does")
    parser.add_argument("--types", default="", help="with --no-trace: comma-separated type names to count each look")
    run(parser.parse_args())


def run(args: argparse.Namespace) -> None:

    from greenflag.load.engine.runner import run_load, run_sync
    from greenflag.load.engine.schedules import Stage
    from greenflag.load.run import LoadRequest, prepare
    from greenflag.units import parse_duration

    total = parse_duration(args.duration)
    ramp = min(30.0, total / 5)
    request = LoadRequest(
        target=args.script,
        host=args.host,
        stages=(Stage(ramp, args.vus), Stage(total - ramp, args.vus)),
        graceful_stop=5.0,
        progress=False,
    )
    outputs = None
    if args.out:  # the time series written as `greenflag load run --out` writes it: the command's sinks
        from greenflag.report.outputs import Outputs

        outputs = Outputs(series_path=Path(args.out))
        request.sink_factories = outputs.sink_factories()
    make, config = prepare(request)
    if not args.no_trace:
        tracemalloc.start(args.frames)

    async def run() -> None:
        async def watch() -> None:
            t0 = time.monotonic()
            baseline: tracemalloc.Snapshot | None = None
            lengths: dict[str, int] = {}
            types: dict[str, int] = {}
            sizes: dict[int, int] = {}
            while True:
                await asyncio.sleep(args.every if baseline is not None else args.baseline)
                if not args.no_collect:
                    gc.collect()
                elapsed = time.monotonic() - t0
                if args.no_trace:
                    plain_look(elapsed, args, lengths, types, sizes)
                    baseline = baseline or tracemalloc.Snapshot([], 1)
                    continue
                snap = tracemalloc.take_snapshot()
                traced = tracemalloc.get_traced_memory()[0] / 1e6
                own = tracemalloc.get_tracemalloc_memory() / 1e6
                print(
                    f"\n=== {elapsed:.0f}s: traced {traced:.2f} MB (tracemalloc's own {own:.1f} MB), RSS "
                    f"{rss_mb():.1f} MB; {malloc_stats()}",
                    flush=True,
                )
                if baseline is None:
                    baseline = snap
                    continue
                for line in top(baseline, snap, 15, "lineno", args.by):
                    print("  ", line, flush=True)
                stats = grown(baseline, snap, "traceback", args.by)[: args.tracebacks]
                for stat in stats:
                    print(f"  -- {stat.size_diff / 1e3:+.1f} kB, {stat.count_diff:+d} blocks:", flush=True)
                    for line in stat.traceback.format()[-2 * args.frames :]:
                        print("     ", line, flush=True)

        watcher = asyncio.ensure_future(watch())
        result = await run_load(make, config)
        watcher.cancel()
        metrics = result.summary["metrics"]
        print(f"\nrequests {metrics['http_reqs']['count']}, failed {metrics['http_req_failed']['fails']}")
        if outputs is not None:
            outputs.finish("soak")

    run_sync(run())


if __name__ == "__main__":
    main()
