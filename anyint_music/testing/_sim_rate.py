"""The simulated gateway's rate cap: at most N task-creating submits per sliding window."""

from __future__ import annotations

import math
from collections import deque

__all__ = ["RateWindow", "check_rate_limit"]


def check_rate_limit(value: object) -> tuple[int, float] | None:
    """Return a valid ``(count, seconds)`` cap or ``None``; raise for anything else.

    Raises:
        ValueError: If the count is below 1 or the window is not a positive finite number.
    """
    if value is None:
        return None
    if not isinstance(value, tuple) or len(value) != 2:
        raise ValueError(f"rate_limit must be None or a (count, seconds) tuple, not {value!r}")
    count, window = value
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"rate_limit count must be an int >= 1, not {count!r}")
    if (
        isinstance(window, bool)
        or not isinstance(window, int | float)
        or not (math.isfinite(window) and window > 0)
    ):
        raise ValueError(f"rate_limit window must be a number of seconds > 0, not {window!r}")
    return count, float(window)


class RateWindow:
    """The times of the submits the cap let through, oldest first (a sliding-window log)."""

    def __init__(self) -> None:
        self._times: deque[float] = deque()

    def admit(self, count: int, window: float, now: float) -> float | None:
        """Let a submit through (and remember it) or say how long until one would be.

        Args:
            count: At most this many submits...
            window: ...within any span of this many seconds.
            now: The current monotonic time.

        Returns:
            ``None`` when the submit is let through; otherwise the seconds (above 0) until
            enough earlier submits leave the window. A refused submit is not remembered.
        """
        times = self._times
        while times and times[0] <= now - window:
            times.popleft()
        if len(times) >= count:
            return times[len(times) - count] + window - now
        times.append(now)
        return None
