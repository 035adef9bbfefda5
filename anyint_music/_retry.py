"""When and how long to wait before sending a request again, and how fast to send at all.

A task-creating submit is sent again only when no task can have been created: the connection
was refused, or the gateway answered a rate limit (HTTP 429, body 405/430), 503 or maintenance
(body 455). Reads (queries, timestamped lyrics, style boost) are also retried after a lost answer
and after any 5xx.
"""

from __future__ import annotations

import asyncio
import collections
import email.utils
import math
import random
import time
from collections.abc import Mapping

import attrs

from . import errors


@attrs.frozen
class RetryPolicy:
    """How persistent the client is with transient failures.

    Attributes:
        max_attempts: tries per request for failures other than rate answers (1 = no retry).
        backoff: the first backoff in seconds; it doubles per failure, with full jitter.
        max_backoff: the largest single wait.
        max_time: the total seconds one request may spend on retries, rate answers included.
    """

    max_attempts: int = 5
    backoff: float = 0.5
    max_backoff: float = 30.0
    max_time: float = 120.0

    def delay(self, failures: int, rng: random.Random) -> float:
        """Full-jitter exponential backoff for the ``failures``-th consecutive failure."""
        cap = min(self.max_backoff, self.backoff * 2 ** max(failures - 1, 0))
        return rng.uniform(0, cap)


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds the gateway asked us to wait, from ``X-RateLimit-Reset-After`` or ``Retry-After``."""
    precise = headers.get("X-RateLimit-Reset-After")
    if precise:
        try:
            return max(float(precise), 0.0)
        except ValueError:
            pass
    value = headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def is_rate_answer(exc: BaseException) -> bool:
    return isinstance(exc, errors.RateLimitError)


def creates_no_task(exc: BaseException) -> bool:
    """Whether a failed submit certainly created no task, so sending it again is safe."""
    if isinstance(exc, errors.APIConnectionError):
        return not exc.sent
    if isinstance(exc, errors.RateLimitError):
        return True
    if isinstance(exc, errors.ServerError):
        return exc.status == 503 or exc.code in (455, 503)
    return False


def is_transient(exc: BaseException) -> bool:
    """Whether an idempotent read may be sent again after ``exc``."""
    return isinstance(exc, errors.APIConnectionError | errors.RateLimitError | errors.ServerError)


class Throttle:
    """Adapts the client's pace to the gateway's rate answers.

    After a rate answer every request waits out the gateway's ``Retry-After`` (or a backoff), and
    the number of requests in flight is halved; each success lets one more in again. So a burst
    of thousands of submits settles at the pace the gateway allows instead of hammering it.
    An optional fixed limit (``rate_limit=(N, seconds)``) keeps task-creating submits under a
    known cap before the gateway has to say so.
    """

    def __init__(self, rate_limit: tuple[int, float] | None = None) -> None:
        self._cond = asyncio.Condition()
        self._limit = math.inf
        self._in_flight = 0
        self._pause_until = 0.0
        self._rate_limit = rate_limit
        self._sent: collections.deque[float] = collections.deque()
        self._window_lock = asyncio.Lock()

    @property
    def paused_for(self) -> float:
        return max(self._pause_until - asyncio.get_running_loop().time(), 0.0)

    async def acquire(self, *, creates_task: bool) -> None:
        loop = asyncio.get_running_loop()
        async with self._cond:
            while True:
                wait = self._pause_until - loop.time()
                if wait > 0:
                    try:
                        async with asyncio.timeout(wait):
                            await self._cond.wait()
                    except TimeoutError:
                        pass
                    continue
                if self._in_flight < self._limit:
                    self._in_flight += 1
                    break
                await self._cond.wait()
        if creates_task and self._rate_limit is not None:
            try:
                await self._take_window_slot()
            except BaseException:
                await self.release(rate_limited=False, wait=None)
                raise

    async def _take_window_slot(self) -> None:
        assert self._rate_limit is not None
        count, window = self._rate_limit
        loop = asyncio.get_running_loop()
        async with self._window_lock:
            while True:
                now = loop.time()
                while self._sent and now - self._sent[0] >= window:
                    self._sent.popleft()
                if len(self._sent) < count:
                    self._sent.append(now)
                    return
                await asyncio.sleep(self._sent[0] + window - now)

    async def release(self, *, rate_limited: bool, wait: float | None) -> None:
        loop = asyncio.get_running_loop()
        async with self._cond:
            self._in_flight -= 1
            if rate_limited:
                self._limit = max(1.0, min(self._limit, self._in_flight + 1.0) / 2)
                if wait is not None:
                    self._pause_until = max(self._pause_until, loop.time() + wait)
            elif self._limit != math.inf:
                self._limit += 1.0 / self._limit
                if self._limit > 4096:  # recovered: stop counting
                    self._limit = math.inf
            self._cond.notify_all()
