"""Run `greenflag` in this process with a sampler thread that writes, every 10 s (PROBE_EVERY_S), one JSON line of
where the process's memory is, as its allocators see it: RSS (anonymous and file-backed), glibc's heap (obtained
from the OS, in use, free but kept, mmapped), pymalloc's arenas and the bytes in its blocks, the bytes the load
run's HDR histograms hold (`hdr_kb`) and the bytes that what follows the run second by second holds (`hdr_follow_kb`):
the thresholds' merged views, and the buckets the folds added that the time series and the live view have not yet
read. Also the garbage collector's runs per generation (`gc_collections`) and each full collection since the last
look, timed (`gc_full`: seconds into the run, milliseconds, objects collected): a full one walks every object.

    python3 bench/soak/probe.py /tmp/probe.jsonl -- load run SCRIPT --host URL ...      # as `greenflag load run`
    python3 bench/soak/run.py --probe /tmp/probe.jsonl                                  # the soak, probed

Each look costs a few milliseconds of the GIL and allocates nothing that stays (no gc.get_objects() list, which
alone would step RSS by ~2 MB): it leaves the run it measures as it was. run.py --probe prints, from minute 5, the
growth and slope of each part: what grows when RSS grows.

Two heavier looks for a diagnosis (each walks every object, which itself moves RSS by a few MB: not for a soak whose
figures are reported), at the seconds listed:
- PROBE_CENSUS_AT=100,400: objects over 512 bytes (what pymalloc hands to malloc) by type, and each histogram by
  what holds it; the second look writes what grew (`census_grew`).
- PROBE_HEAP_AT=300,1800: glibc's free heap by chunk size (its `malloc_info` report: the free chunks of each bin,
  main arena), as KiB free per size band (`heap_free_by_size`): which sizes the free memory kept is made of.
- PROBE_SIZES_AT=90,240,390: the containers (dict, list, set, deque) of 32 entries or more that gained 16 or more
  since the previous look, what holds them and their last entries (`containers_grew`).
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import json
import os
import runpy
import sys
import tempfile
import threading
import time
import weakref
from collections import deque
from pathlib import Path
from typing import Any

EVERY_S = 10.0
_REGISTRIES: weakref.WeakSet[Any] = weakref.WeakSet()
_DIFFS: weakref.WeakSet[Any] = weakref.WeakSet()  # the time series' diff takers: what they last saw is a copy


_MALLINFO2_FIELDS = ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks")
_MALLINFO2_FIELDS += ("keepcost",)


class _Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in _MALLINFO2_FIELDS]


def status() -> dict[str, int]:
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "RssAnon", "RssFile", "VmHWM"):
            out[key] = int(value.split()[0])
    return out


def _libc_mallinfo2() -> Any:
    """glibc's mallinfo2, loaded once (a CDLL per look would leave ctypes types for the collector)."""
    with contextlib.suppress(OSError, AttributeError):
        function = ctypes.CDLL("libc.so.6").mallinfo2
        function.restype = _Mallinfo2
        return function
    return None


_MALLINFO2 = _libc_mallinfo2()
_BANDS = (512, 1024, 4096, 16384, 65536, 262144)  # upper bounds (bytes) of the free-chunk size bands reported


def heap_free_by_size() -> dict[str, int]:
    """glibc's free chunks by size band (KiB), from `malloc_info(0, FILE*)`'s XML: every arena's `<size from= to=
    total= count=>` entries (fast bins and bins; the top chunk is the rest of `heap_free_kb`), written to a temporary
    file: for a diagnosis."""
    import xml.etree.ElementTree as ET

    libc = ctypes.CDLL("libc.so.6")
    libc.fopen.restype = ctypes.c_void_p
    libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
    libc.fclose.argtypes = [ctypes.c_void_p]
    with tempfile.NamedTemporaryFile(suffix=".xml") as tmp:
        handle = libc.fopen(tmp.name.encode(), b"w")
        libc.malloc_info(0, handle)
        libc.fclose(handle)
        root = ET.parse(tmp.name).getroot()
    bands = dict.fromkeys([f"<{b // 1024 or b}{'K' if b >= 1024 else 'B'}" for b in _BANDS] + ["larger"], 0)
    names = list(bands)
    for heap in root.findall("heap"):
        for size in heap.iter("size"):
            high, total = int(size.get("to", "0")), int(size.get("total", "0"))
            band = next((i for i, b in enumerate(_BANDS) if high <= b), len(_BANDS))
            bands[names[band]] += total
    return {name: value // 1024 for name, value in bands.items()}


def malloc_info() -> dict[str, int]:
    if _MALLINFO2 is not None:
        info = _MALLINFO2()
        return {"heap_kb": info.arena // 1024, "heap_used_kb": info.uordblks // 1024,
                "heap_free_kb": info.fordblks // 1024, "mmap_kb": info.hblkhd // 1024}  # fmt: skip
    return {}


def pymalloc_info() -> dict[str, int]:
    """pymalloc's arenas now and at most (from sys._debugmallocstats, which writes to fd 2)."""
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
        key, _, value = line.partition("=")
        key = key.strip("# ").strip()
        if key in ("arenas allocated current", "arenas highwater mark", "bytes in allocated blocks"):
            found[key.replace(" ", "_")] = int(value.strip().replace(",", ""))
    return found


def _histograms() -> dict[str, int]:
    count = size = 0
    for registry in list(_REGISTRIES):
        hists = [registry.iteration_duration, *registry.trends.values()]
        for series in list(registry.series.values()):
            hists += [series.duration, series.latency, series.waiting, series.receiving, *series.sparse.values()]
        count += len(hists)
        size += sum(h.nbytes for h in hists)
    follow = 0  # the thresholds' views, and what the folds added that no follower has read yet
    for registry in list(_REGISTRIES):
        follow += sum(view.nbytes for view in list(registry._views.values()))
        follow += sum(part.nbytes for part in list(registry._window or []))
    for diff in list(_DIFFS):
        follow += sum(a.nbytes for news in list((diff._news or {}).values()) for n in list(news) for a in n[:2])
    return {"hdr_histograms": count, "hdr_kb": size // 1024, "hdr_follow_kb": follow // 1024,
            "registries": len(_REGISTRIES)}  # fmt: skip


_FULL_COLLECTIONS: deque[list[float]] = deque()  # [seconds into the run, ms, objects collected] of each full one
_gc_started = [0.0]
_STARTED = [0.0]


def _on_gc(phase: str, info: dict[str, int]) -> None:
    """gc.callbacks: time the full (generation 2) collections, which walk every object the collector tracks."""
    if info["generation"] != 2:
        return
    if phase == "start":
        _gc_started[0] = time.perf_counter()
    else:
        took = (time.perf_counter() - _gc_started[0]) * 1000
        _FULL_COLLECTIONS.append([round(time.monotonic() - _STARTED[0], 1), round(took, 1), info["collected"]])


def _sample(started: float) -> dict[str, Any]:
    look = {"t": round(time.monotonic() - started, 1), **status(), **malloc_info(), **pymalloc_info(), **_histograms()}
    look["pymalloc_blocks"] = sys.getallocatedblocks()
    look["gc_collections"] = [g["collections"] for g in gc.get_stats()]
    full = [_FULL_COLLECTIONS.popleft() for _ in range(len(_FULL_COLLECTIONS))]
    if full:
        look["gc_full"] = full  # since the last look: [t, ms, collected] each
    return look


def _census() -> dict[str, list[int]]:
    """Objects over 512 bytes (what pymalloc hands to malloc) by type, [count, bytes]: gc-tracked ones, and the
    untracked ones they refer to (str, bytes, numpy arrays with their data). Costs a list of every object: a look
    that disturbs RSS by a few MB, for a diagnosis (PROBE_CENSUS_AT), not for a measured soak."""
    import numpy as np

    out: dict[str, list[int]] = {}
    seen: set[int] = set()

    def note(obj: Any, owner: str) -> None:
        if id(obj) in seen:
            return
        owns_data = isinstance(obj, np.ndarray) and obj.base is None
        size = obj.nbytes + sys.getsizeof(obj) if owns_data else sys.getsizeof(obj)
        if size > 512:
            seen.add(id(obj))
            entry = out.setdefault(f"{type(obj).__name__} in {owner}" if owner else type(obj).__name__, [0, 0])
            entry[0] += 1
            entry[1] += size

    known: dict[int, str] = {}
    for registry in list(_REGISTRIES):
        known[id(registry.iteration_duration)] = "iteration_duration"
        for (metric, _tags), hist in registry.trends.items():
            known[id(hist)] = f"trend {metric}"
        for series in registry.series.values():
            for name in ("duration", "latency", "waiting", "receiving"):
                known[id(getattr(series, name))] = f"series {name}"
            for name, hist in series.sparse.items():
                known[id(hist)] = f"series {name}"
    for obj in gc.get_objects():
        if type(obj).__name__ == "Histogram":
            label = known.get(id(obj))
            if label is None:
                owners = [type(r).__name__ for r in gc.get_referrers(obj) if r is not out]
                label = "other, held by " + ",".join(sorted(set(owners))[:4])
            entry = out.setdefault(f"Histogram {label}", [0, 0])
            entry[0] += 1
            entry[1] += obj.nbytes
            continue
        note(obj, "")
        owner = type(obj).__name__
        for ref in gc.get_referents(obj):
            if not gc.is_tracked(ref):
                note(ref, owner)
    return out


def _sizes() -> dict[int, tuple[Any, int]]:
    """Every container the collector tracks with 32 entries or more: id → (a weak handle or the type, length)."""
    out: dict[int, tuple[Any, int]] = {}
    for obj in gc.get_objects():
        if isinstance(obj, dict | list | set | deque):
            size = len(obj)
            if size >= 32:
                out[id(obj)] = (type(obj).__name__, size)
    return out


def _grown(before: dict[int, tuple[Any, int]]) -> list[str]:
    """The containers of `before` that gained 16 entries or more since: what holds them, and a few entries."""
    rows = []
    for obj in gc.get_objects():
        if id(obj) in before and isinstance(obj, dict | list | set | deque):
            name, size = before[id(obj)]
            if type(obj).__name__ == name and len(obj) - size >= 16:
                holders = sorted({type(r).__name__ for r in gc.get_referrers(obj)} - {"frame"})[:4]
                sample = list(obj.items())[-3:] if isinstance(obj, dict) else list(obj)[-3:]
                rows.append(f"{name} {size} -> {len(obj)}, held by {holders}: {repr(sample)[:300]}")
    return rows


def _sampler(path: Path, every: float, started: float) -> None:
    sizes_at = sorted(float(x) for x in os.environ.get("PROBE_SIZES_AT", "").split(",") if x)
    sizes: dict[int, tuple[Any, int]] | None = None
    census_at = sorted(float(x) for x in os.environ.get("PROBE_CENSUS_AT", "").split(",") if x)
    heap_at = sorted(float(x) for x in os.environ.get("PROBE_HEAP_AT", "").split(",") if x)
    censuses: list[dict[str, list[int]]] = []
    with path.open("w") as out:
        while True:
            look = _sample(started)
            if census_at and look["t"] >= census_at[0]:
                census_at.pop(0)
                censuses.append(_census())
                if len(censuses) >= 2:
                    a, b = censuses[-2], censuses[-1]
                    grew = {k: [v[0] - a.get(k, [0, 0])[0], v[1] - a.get(k, [0, 0])[1]] for k, v in b.items()}
                    top = sorted(grew.items(), key=lambda kv: -kv[1][1])[:25]
                    look["census_grew"] = {k: v for k, v in top if v[1]}
            if heap_at and look["t"] >= heap_at[0]:
                heap_at.pop(0)
                look["heap_free_by_size"] = heap_free_by_size()
            if sizes_at and look["t"] >= sizes_at[0]:
                sizes_at.pop(0)
                if sizes is not None:
                    look["containers_grew"] = _grown(sizes)
                sizes = _sizes()
            out.write(json.dumps(look) + "\n")
            out.flush()
            time.sleep(every)


def main() -> None:
    if len(sys.argv) < 3 or sys.argv[2] != "--":
        raise SystemExit("usage: probe.py OUT.jsonl -- GREENFLAG-ARGS...")
    from greenflag.load.metrics import series

    original = series.Registry.__init__

    def tracked(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        _REGISTRIES.add(self)

    series.Registry.__init__ = tracked  # type: ignore[method-assign]
    from greenflag.load.metrics import delta

    taker = delta.DiffTaker.__init__

    def taker_tracked(self: Any, *args: Any, **kwargs: Any) -> None:
        taker(self, *args, **kwargs)
        _DIFFS.add(self)

    delta.DiffTaker.__init__ = taker_tracked  # type: ignore[method-assign]
    every = float(os.environ.get("PROBE_EVERY_S", EVERY_S))
    _STARTED[0] = time.monotonic()
    gc.callbacks.append(_on_gc)
    threading.Thread(target=_sampler, args=(Path(sys.argv[1]), every, _STARTED[0]), daemon=True).start()
    sys.argv = ["greenflag", *sys.argv[3:]]
    runpy.run_module("greenflag", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
