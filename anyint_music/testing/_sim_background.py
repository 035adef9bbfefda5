"""The simulated gateway's background work (task timelines, deliveries): started, awaited,
cancelled, and crashes kept for `FakeGateway.wait_idle` to report."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from ._sim_validate import Refusal

__all__ = ["Background"]


class Background:
    """The set of running background tasks; it accepts new ones only while open."""

    def __init__(self) -> None:
        self.open = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._errors: list[BaseException] = []

    def spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Run `coro` in the background.

        Raises:
            Refusal: 503 when closed, so a submit that arrives while closing is refused.
        """
        if not self.open:
            coro.close()
            raise Refusal(503, "The gateway is shutting down.")
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._forget)
        return task

    def _forget(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            self._errors.append(exc)

    async def wait(self, timeout: float) -> None:
        """Wait until no task is left, including those started meanwhile.

        Raises:
            TimeoutError: If work is still pending after `timeout` seconds.
            RuntimeError: If a task crashed (a bug in the simulator).
        """
        try:
            async with asyncio.timeout(timeout):
                while self._tasks:
                    await asyncio.wait(set(self._tasks))
        except TimeoutError:
            raise TimeoutError(
                f"FakeGateway still has {len(self._tasks)} pending stage(s) or "
                f"deliveries after {timeout} s"
            ) from None
        if self._errors:
            raise RuntimeError("a FakeGateway background task failed") from self._errors[0]

    async def cancel(self) -> None:
        """Cancel every task until none is left (a cancelled task may have started another)."""
        while self._tasks:
            pending = list(self._tasks)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
