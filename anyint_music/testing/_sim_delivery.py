"""Callback delivery of the simulated gateway: one POST per attempt, retries on failure."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Sequence
from typing import Any

import aiohttp

from ._sim_records import DeliveredCallback
from ._sim_stats import Counters

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
        started = time.time()
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
                )
            )
        if status == 200:
            return True
    counters.deliveries_failed += 1
    return False
