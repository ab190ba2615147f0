"""Letter grades across checks, best first (pure): SSL Labs' (A+ … F, then T and M, which are out of scale) and
the Observatory's and GoTestWAF's (A+ … D-, F)."""

from __future__ import annotations

__all__ = ["ORDER", "below_minimum"]

__pure__ = True

ORDER = ("A+", "A", "A-", "B+", "B", "B-", "C+", "C", "C-", "D+", "D", "D-", "E", "F", "T", "M")


def below_minimum(grade: str | None, minimum: str) -> bool:
    """True when `grade` is worse than `minimum`; a missing or unknown grade is below any minimum."""
    if grade is None or grade not in ORDER:
        return True
    return ORDER.index(grade) > ORDER.index(minimum)
