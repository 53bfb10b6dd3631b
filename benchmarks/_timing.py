"""Timing helper shared by the benchmarks."""
from __future__ import annotations

import statistics
import time


def timed(fn, repeat: int):
    """``(run times in s, last result)`` of ``repeat`` calls of ``fn()``."""
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return times, result


def median_timed(fn, repeat: int = 3):
    """``(median run time in s, last result)`` of ``repeat`` calls of ``fn()``."""
    times, result = timed(fn, repeat)
    return statistics.median(times), result
