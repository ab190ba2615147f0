"""PostgreSQL WAL segment names and archive continuity (pure).

A segment file is named TTTTTTTTXXXXXXXXYYYYYYYY: the timeline, then the segment number split in two at
`0x100000000 / segment_size` segments per "log". Recovery replays segments in order and stops at the first one
the archive cannot provide, so one missing segment silently cuts off everything after it; `missing_segments`
finds such holes before the restore does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["missing_segments", "parse_segment", "segment_name", "start_segment_from_label"]

__pure__ = True

_SEGMENT = re.compile(r"^([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})$")
_LABEL_START = re.compile(r"^START WAL LOCATION: \S+ \(file ([0-9A-F]{24})\)", re.MULTILINE)


def _per_log(segment_size: int) -> int:
    if segment_size <= 0 or segment_size & (segment_size - 1):
        raise ValueError(f"WAL segment size must be a power of two, not {segment_size}")
    return 0x100000000 // segment_size


def parse_segment(name: str, segment_size: int) -> tuple[int, int] | None:
    """'000000010000000000000003' → (timeline 1, segment number 3); None for anything else (.history, .partial)."""
    match = _SEGMENT.match(name)
    if match is None:
        return None
    timeline, log, seg = (int(part, 16) for part in match.groups())
    return timeline, log * _per_log(segment_size) + seg


def segment_name(timeline: int, segno: int, segment_size: int) -> str:
    per = _per_log(segment_size)
    return f"{timeline:08X}{segno // per:08X}{segno % per:08X}"


def start_segment_from_label(label: str) -> str | None:
    """The segment a base backup starts in, from its backup_label text."""
    match = _LABEL_START.search(label)
    return match.group(1) if match else None


def missing_segments(names: Iterable[str], start: str, segment_size: int) -> list[str]:
    """Segments of `start`'s timeline between `start` and the newest one present that `names` lacks."""
    first = parse_segment(start, segment_size)
    if first is None:
        raise ValueError(f"{start!r} is not a WAL segment name")
    timeline, start_no = first
    present = set()
    for name in names:
        parsed = parse_segment(name, segment_size)
        if parsed is not None and parsed[0] == timeline and parsed[1] >= start_no:
            present.add(parsed[1])
    if not present:
        return []
    return [segment_name(timeline, no, segment_size) for no in range(start_no, max(present) + 1) if no not in present]
