"""When and how long to wait before sending a request again, and how fast to send at all.

A task-creating submit is sent again only when no task can have been created: the connection
was refused, or the gateway answered a rate limit (HTTP 429, body 405/430), 503 or maintenance
(body 455). Reads (queries, timestamped lyrics, style boost) are also retried after a lost answer
and after any 5xx.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import email.utils
import math
import random
import time
from collections.abc import Mapping

import attrs

from . import errors


def _at_least_one(_: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise errors.ConfigurationError(f"{attribute.name} must be an integer >= 1, got {value!r}")


def _not_negative(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        raise errors.ConfigurationError(
            f"{attribute.name} must be a number of seconds >= 0, got {value!r}"
        )


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How persistent the client is with transient failures, as one value:
    ``AnyIntMusic(retry=RetryPolicy(max_attempts=3, max_time=30))``.

    A submit is sent again only when no task can have been created; reads are also retried
    after a lost answer or a 5xx. Rate answers are always waited out, within ``max_time``.

    Attributes:
        max_attempts: tries per request for failures other than rate answers (1 = no retry).
        backoff: the first backoff in seconds; it doubles per failure, with full jitter.
        max_backoff: the largest single wait.
        max_time: the total seconds one request may spend on retries, rate answers included
            (0 = never retry).

    Raises:
        ConfigurationError: a value out of range.
    """

    max_attempts: int = attrs.field(default=5, validator=_at_least_one)
    backoff: float = attrs.field(default=0.5, validator=_not_negative)
    max_backoff: float = attrs.field(default=30.0, validator=_not_negative)
    max_time: float = attrs.field(default=120.0, validator=_not_negative)

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


def creates_no_task(exc: BaseException) -> bool:
    """Whether a failed submit certainly created no task, so sending it again is safe."""
    if isinstance(exc, errors.APIConnectionError):
        return not exc.sent
    if isinstance(exc, errors.RateLimitError):
        return True
    if isinstance(exc, errors.ServerError):
        return exc.status == 503 or exc.code in (455, 503)
    return False


def certainly_no_task(exc: BaseException) -> bool:
    """Whether a failed submit certainly created no task (so its token can be dropped)."""
    if isinstance(exc, errors.InvalidRequestError | errors.ClientClosedError):
        return True
    if isinstance(exc, errors.APIConnectionError):
        return not exc.sent
    if isinstance(exc, errors.MalformedResponseError):
        return False  # it answered, but without a task id: one may exist
    if isinstance(exc, errors.ServerError):
        # The service's own error answer is a definite "no"; a bare 5xx from a proxy in front
        # of it (502, 504...) is not.
        return exc.from_envelope or creates_no_task(exc)
    return isinstance(exc, errors.APIError)  # any other refusal is a definite "no"


def is_transient(exc: BaseException) -> bool:
    """Whether an idempotent read may be sent again after ``exc``."""
    return isinstance(exc, errors.APIConnectionError | errors.RateLimitError | errors.ServerError)


class Throttle:
    """Adapts the client's pace to the gateway's rate answers.

    After a rate answer every request of its lane (the transport has one for task-creating
    submits, one for reads) waits out the gateway's ``Retry-After`` (or a backoff), and the
    number of requests in flight is halved; each success lets a little more in again, and
    after a quiet spell with no rate answer the limit is lifted. So a burst of thousands of
    submits settles at the pace the gateway allows instead of hammering it. An optional fixed
    limit (``rate_limit=(N, seconds)``) keeps task-creating submits under a known cap before the
    gateway has to say so.
    """

    QUIET = 10.0  # seconds without a rate answer after which the limit is lifted

    def __init__(self, rate_limit: tuple[int, float] | None = None) -> None:
        self._limit = math.inf
        self._in_flight = 0
        self._pause_until = -math.inf  # a loop's clock may read below zero
        self._last_rate_answer = -math.inf
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self._closed = False
        self._rate_limit = rate_limit
        # The client's own rate limit counts a submit from when it is sent until its answer
        # came, plus the window: the gateway saw it somewhere in between, so however late
        # a loaded machine delivers a request, the gateway never sees more than the limit.
        self._answered: collections.deque[float] = collections.deque()
        self._unanswered = 0
        self._window_lock = asyncio.Lock()
        self._window_moved = asyncio.Event()

    def take(self, *, creates_task: bool) -> bool:
        """Take a slot if that needs no wait: no pause, room in flight and no rate-limit window
        to queue for (the usual case). ``False``: :meth:`acquire` does the rest."""
        if self._closed or self._in_flight >= self._limit:
            return False
        if creates_task and self._rate_limit is not None:
            return False
        paused = self._pause_until != -math.inf  # else never paused: no clock to read
        if paused and self._pause_until - asyncio.get_running_loop().time() > 0:
            return False
        self._in_flight += 1
        return True

    async def acquire(self, *, creates_task: bool) -> None:
        """Wait for a slot; raise ClientClosedError if the client closes meanwhile."""
        loop = asyncio.get_running_loop()
        while True:
            if self._closed:
                raise errors.ClientClosedError("the client closed while this request waited")
            pause = self._pause_until - loop.time()
            if pause <= 0 and self._in_flight < self._limit:
                self._in_flight += 1
                break
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiters.append(waiter)
            try:
                async with asyncio.timeout(pause if pause > 0 else None):
                    await waiter
            except TimeoutError:
                pass
            except BaseException:
                if waiter.done() and not waiter.cancelled():
                    self._wake()  # pass on a wake-up this cancelled waiter received
                raise
        if creates_task and self._rate_limit is not None:
            try:
                await self._take_window_slot()
            except BaseException:
                self._give_back(rate_limited=False, wait=None)
                raise

    async def _take_window_slot(self) -> None:
        assert self._rate_limit is not None
        count, window = self._rate_limit
        loop = asyncio.get_running_loop()
        async with self._window_lock:
            while True:
                if self._closed:
                    raise errors.ClientClosedError("the client closed while this submit waited")
                now = loop.time()
                while self._answered and now - self._answered[0] >= window:
                    self._answered.popleft()
                if len(self._answered) + self._unanswered < count:
                    self._unanswered += 1
                    return
                self._window_moved.clear()
                # Until the oldest answer leaves the window, or another answer comes.
                later = self._answered[0] + window - now if self._answered else None
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(later):
                        await self._window_moved.wait()

    def release(self, *, rate_limited: bool, wait: float | None) -> None:
        """Give the slot back, saying whether the gateway answered with a rate limit."""
        if self._rate_limit is not None and self._unanswered:
            # This lane holds only submits when a rate limit is set: each took a window slot.
            self._unanswered -= 1
            self._answered.append(asyncio.get_running_loop().time())
            self._window_moved.set()
        self._give_back(rate_limited=rate_limited, wait=wait)

    def _give_back(self, *, rate_limited: bool, wait: float | None) -> None:
        self._in_flight -= 1
        if rate_limited:
            now = asyncio.get_running_loop().time()
            self._last_rate_answer = now
            self._limit = max(1.0, min(self._limit, self._in_flight + 1.0) / 2)
            if wait is not None:
                self._pause_until = max(self._pause_until, now + wait)
        elif self._limit != math.inf:  # else no limit to lift: no clock to read
            if asyncio.get_running_loop().time() - self._last_rate_answer > self.QUIET:
                self._limit = math.inf
            else:
                self._limit += 1.0 / self._limit
        if self._waiters:
            self._wake()

    def _wake(self) -> None:
        free = self._limit - self._in_flight
        while self._waiters and free > 0:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                free -= 1

    def close(self) -> None:
        """Wake every waiter with ClientClosedError."""
        self._closed = True
        self._window_moved.set()
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
