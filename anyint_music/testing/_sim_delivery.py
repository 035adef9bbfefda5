"""Callback delivery of the simulated gateway: which copies of a callback go out and when, to
which receiver, signed how; one POST per attempt, retries on failure; and the inspector's
"send it again now"."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Coroutine, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp

from ._sim_inspector import Inspector
from ._sim_knobs import Knobs
from ._sim_records import DeliveredCallback
from ._sim_stats import Counters
from ._sim_world import TaskState

__all__ = ["Sender", "deliver"]

_HEADERS = {"Content-Type": "application/json", "User-Agent": "anyint-music-fakegateway"}


async def deliver(
    session: aiohttp.ClientSession,
    url: str | Callable[[], str],
    body: dict[str, Any],
    *,
    task_id: str,
    stage: str,
    copy: int,
    retry_delays: Sequence[float],
    timeout: float,
    record: Callable[[DeliveredCallback], None] | None,
    counters: Counters,
    sign: Callable[[], dict[str, str]] | None = None,
) -> bool:
    """POST `body` to `url` until it is answered with HTTP 200 or the retries run out.

    `url` may be a function returning the URL for each attempt (a load balancer in front of
    several receivers). `sign` returns extra headers for each attempt (a fresh signature).

    An answer other than 200, a connection error or a timeout counts as a failed attempt and is
    retried after ``retry_delays[i]``; every attempt is counted in `counters` and, unless
    `record` is ``None``, passed to it.

    `timeout` limits connecting and waiting for the answer, not the wait for a free connection
    of `session`'s pool: a busy simulator must not fail deliveries the receiver never saw.

    Returns:
        Whether some attempt was answered with HTTP 200.
    """
    payload = json.dumps(body).encode()
    delays = [*retry_delays]
    client_timeout = aiohttp.ClientTimeout(total=None, sock_connect=timeout, sock_read=timeout)
    for attempt in range(1, len(delays) + 2):
        if attempt > 1:
            await asyncio.sleep(delays[attempt - 2])
            counters.redeliveries += 1
        target = url() if callable(url) else url
        started, clock = time.time(), time.monotonic()
        status: int | None = None
        error: str | None = None
        try:
            headers = {**_HEADERS, **sign()} if sign is not None else _HEADERS
            async with session.post(
                target, data=payload, headers=headers, timeout=client_timeout
            ) as response:
                await response.read()
                status = response.status
        except TimeoutError:
            error = f"no answer within {timeout} s"
        except (aiohttp.ClientError, OSError) as exc:
            error = f"{type(exc).__name__}: {exc}"
        counters.callbacks_sent += 1
        if status == 200:
            counters.callbacks_ok += 1
        if record is not None:
            record(
                DeliveredCallback(
                    url=target,
                    body=json.loads(payload),
                    task_id=task_id,
                    stage=stage,
                    attempt=attempt,
                    status=status,
                    time=started,
                    copy=copy,
                    error=error,
                    latency=time.monotonic() - clock,
                )
            )
        if status == 200:
            return True
    counters.deliveries_failed += 1
    return False


class Sender:
    """Sends a task's callbacks as the knobs say: dropped, duplicated, delayed by chaos,
    balanced over `receivers`, signed with `hmac_key`, and in stage order per task."""

    def __init__(
        self,
        knobs: Knobs,
        counters: Counters,
        spawn: Callable[[Coroutine[Any, Any, None]], asyncio.Task[None]],
        inspector: Inspector,
    ) -> None:
        self._knobs = knobs
        self._counters = counters
        self._spawn = spawn
        self._inspector = inspector
        self._next_receiver = -1
        self.session: aiohttp.ClientSession | None = None  # set while the gateway runs

    def _dropped(self, stage: str) -> bool:
        drop = self._knobs.drop_callbacks
        return drop if isinstance(drop, bool) else stage in drop

    def send(self, state: TaskState, stage: str, body: dict[str, Any]) -> None:
        """Schedule the copies of one callback of `state`'s task (none if it is dropped, or if
        the task has no ``callBackUrl``, as replace-section allows)."""
        delays = self._copies(state, stage)
        note = None if delays else "no callBackUrl" if not state.sim.callback_url else "dropped"
        self._inspector.staged(state, stage, body, note)
        for n, delay in enumerate(delays):
            previous = state.last_delivery
            state.last_delivery = self._spawn(
                self._deliver_after(previous, state, stage, body, n, delay)
            )

    def _copies(self, state: TaskState, stage: str) -> list[float]:
        """The delay before each copy of one callback; none when it is not sent."""
        knobs, counters = self._knobs, self._counters
        if not state.sim.callback_url:
            return []
        if self._dropped(stage):
            counters.callbacks_dropped += 1
            return []
        delays: list[float] | None = [0.0] * (1 + knobs.duplicates)
        chaos = knobs.chaos
        if chaos is not None and state.chaos is not None:
            delays = state.chaos.copies(chaos, 1 + knobs.duplicates)
        if delays is None:
            counters.callbacks_dropped += 1
            return []
        counters.callbacks_duplicated += len(delays) - 1
        return delays

    def _recording(self) -> bool:
        # Building a record costs a JSON copy of the body per attempt: only when someone keeps it.
        return self._knobs.record or self._knobs.inspector

    def _record(self, state: TaskState, sent: DeliveredCallback, manual: bool = False) -> None:
        if self._knobs.record:
            self._knobs.callbacks.append(sent)
        self._inspector.delivered(state, sent, manual)

    async def redeliver(
        self, state: TaskState, stage: str, body: dict[str, Any], url: str, copy: int
    ) -> DeliveredCallback:
        """POST one more copy of a callback to `url` now, once (no retries), and return the
        attempt. It is counted and recorded like any duplicate copy.

        Raises:
            RuntimeError: When the gateway is not running.
        """
        session = self.session
        if session is None or session.closed:
            raise RuntimeError("the gateway is not running")
        made: list[DeliveredCallback] = []
        self._counters.callbacks_duplicated += 1

        def keep(sent: DeliveredCallback) -> None:
            made.append(sent)
            self._record(state, sent, manual=True)

        await deliver(
            session,
            url,
            body,
            task_id=state.sim.id,
            stage=stage,
            copy=copy,
            retry_delays=(),
            timeout=self._timeout(),
            record=keep,
            counters=self._counters,
            sign=self._signer(state),
        )
        return made[0]

    def _signer(self, state: TaskState) -> Callable[[], dict[str, str]] | None:
        if self._knobs.hmac_key is None:
            return None
        return lambda: self._signature(state.sim.id)

    def _balance(self, url: str) -> str:
        """``url`` sent to the next of ``receivers`` in turn, as a load balancer would."""
        receivers = self._knobs.receivers
        if not receivers:
            return url
        self._next_receiver = (self._next_receiver + 1) % len(receivers)
        parts = urlsplit(url)
        base = urlsplit(receivers[self._next_receiver])
        return urlunsplit((base.scheme, base.netloc, parts.path, parts.query, parts.fragment))

    def _signature(self, task_id: str) -> dict[str, str]:
        key = self._knobs.hmac_key
        assert key is not None
        stamp = str(int(time.time()))
        mac = hmac.new(key, f"{task_id}.{stamp}".encode(), hashlib.sha256)
        return {
            "X-Webhook-Timestamp": stamp,
            "X-Webhook-Signature": base64.b64encode(mac.digest()).decode(),
        }

    def _timeout(self) -> float:
        chaos = self._knobs.chaos
        if chaos is not None and chaos.slow_answer_timeout is not None:
            return chaos.slow_answer_timeout
        return self._knobs.callback_timeout

    async def _deliver_after(
        self,
        previous: asyncio.Task[None] | None,
        state: TaskState,
        stage: str,
        body: dict[str, Any],
        n: int,
        delay: float,
    ) -> None:
        # Chaining keeps one task's callbacks in stage order even while one is being retried.
        if previous is not None:
            await asyncio.wait([previous])
        if delay > 0:
            await asyncio.sleep(delay)
        assert self.session is not None
        knobs = self._knobs
        await deliver(
            self.session,
            lambda: self._balance(state.sim.callback_url),
            body,
            task_id=state.sim.id,
            stage=stage,
            copy=n,
            retry_delays=knobs.retry_delays,
            timeout=self._timeout(),
            record=(lambda sent: self._record(state, sent)) if self._recording() else None,
            counters=self._counters,
            sign=self._signer(state),
        )
