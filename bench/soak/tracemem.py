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
import contextlib
import ctypes
import gc
import sys
import time
import tracemalloc
from pathlib import Path

HERE = Path(__file__).resolve().parent


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class _Mallinfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


def malloc_stats() -> str:
    """glibc's view: heap obtained from the OS (arena), in use (uordblks), free but kept (fordblks), mmapped."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallinfo2.restype = _Mallinfo2
        info = libc.mallinfo2()
    except (OSError, AttributeError):
        return "mallinfo2 unavailable"
    mb = 1 / 1e6
    return (
        f"heap {info.arena * mb:.1f} MB: in use {info.uordblks * mb:.1f}, free {info.fordblks * mb:.1f}; "
        f"mmapped {info.hblkhd * mb:.1f} MB in {info.hblks} blocks"
    )


def pymalloc_stats() -> str:
    """pymalloc's arenas (256 KiB each in 3.11): how many are allocated now, and the bytes its pools hold."""
    import os
    import tempfile

    with tempfile.TemporaryFile(mode="w+") as out:
        saved = os.dup(2)
        os.dup2(out.fileno(), 2)
        try:
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        out.seek(0)
        text = out.read()
    found = {}
    for line in text.splitlines():
        if ("=" in line and line.startswith("#")) or line.startswith("Total"):
            key, _, value = line.partition("=")
            found[key.strip("# ").strip()] = value.strip()
    current, high = found.get("arenas allocated current", "?"), found.get("arenas highwater mark", "?")
    return f"arenas {current} (high water {high}), pymalloc total {found.get('Total', '?')} B"


def trim() -> None:
    """Give glibc's free heap pages back to the OS (what RSS would be without allocator slack)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def top(baseline: tracemalloc.Snapshot, now: tracemalloc.Snapshot, count: int, key: str) -> list[str]:
    skip = [tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, "<frozen importlib._bootstrap>")]
    diff = now.filter_traces(skip).compare_to(baseline.filter_traces(skip), key)
    return [str(stat) for stat in diff[:count] if stat.size_diff > 0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", required=True)
    parser.add_argument("--duration", default="10m")
    parser.add_argument("--vus", type=int, default=1000)
    parser.add_argument("--every", type=float, default=120.0)
    parser.add_argument("--baseline", type=float, default=120.0)
    parser.add_argument("--frames", type=int, default=12)
    parser.add_argument("--script", default=str(HERE.parent / "seed_profile" / "seed.py"))
    parser.add_argument("--no-trace", action="store_true", help="no tracemalloc: RSS, malloc and object counts only")
    parser.add_argument("--trim", action="store_true", help="with --no-trace: RSS before and after malloc_trim(0)")
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
    make, config = prepare(request)
    if not args.no_trace:
        tracemalloc.start(args.frames)

    async def run() -> None:
        async def watch() -> None:
            t0 = time.monotonic()
            baseline: tracemalloc.Snapshot | None = None
            while True:
                await asyncio.sleep(args.every if baseline is not None else args.baseline)
                gc.collect()
                elapsed = time.monotonic() - t0
                if args.no_trace:
                    counts: dict[str, int] = {}
                    for obj in gc.get_objects():
                        counts[type(obj).__name__] = counts.get(type(obj).__name__, 0) + 1
                    common = sorted(counts.items(), key=lambda kv: -kv[1])[:5]
                    before = rss_mb()
                    if args.trim:
                        trim()
                    print(
                        f"=== {elapsed:.0f}s: RSS {before:.1f} MB (trimmed {rss_mb():.1f}); {malloc_stats()}; "
                        f"{pymalloc_stats()}; python blocks {sys.getallocatedblocks()}; objects {common}",
                        flush=True,
                    )
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
                for line in top(baseline, snap, 15, "lineno"):
                    print("  ", line, flush=True)
                stats = snap.compare_to(baseline, "traceback")[:3]
                for stat in stats:
                    print(f"  -- {stat.size_diff / 1e3:+.1f} kB, {stat.count_diff:+d} blocks:", flush=True)
                    for line in stat.traceback.format()[-2 * args.frames :]:
                        print("     ", line, flush=True)

        watcher = asyncio.ensure_future(watch())
        result = await run_load(make, config)
        watcher.cancel()
        metrics = result.summary["metrics"]
        print(f"\nrequests {metrics['http_reqs']['count']}, failed {metrics['http_req_failed']['fails']}")

    run_sync(run())


if __name__ == "__main__":
    main()
