"""The client's background work, started, supervised and stopped in one place.

Two kinds: loops that must keep running while the client is open (the housekeeper, a shared
store's listener, the poller) and one-shot jobs (a poll, re-reading a re-attached task). An
unexpected exception never ends either silently: a loop is logged at ERROR and restarted after
a growing pause; a job is logged at ERROR and its ``on_error`` ends the wait it served.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

log = logging.getLogger("anyint_music")

# A loop that ran this long without failing starts its next backoff from the beginning.
HEALTHY_AFTER = 60.0


class Background:
    """A set of background tasks of one owner, cancelled together by :meth:`aclose`.

    Args:
        backoff: the first pause before a failed loop is restarted; it doubles per failure in
            a row, up to ``max_backoff``.
    """

    def __init__(self, *, backoff: float = 0.5, max_backoff: float = 30.0) -> None:
        self._tasks: set[asyncio.Task[None]] = set()
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.restarts = 0

    def __len__(self) -> int:
        return len(self._tasks)

    def _track(self, coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coro, name=f"anyint-music {name}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def spawn(
        self,
        job: Coroutine[Any, Any, None],
        *,
        name: str,
        on_error: Callable[[Exception], None] | None = None,
    ) -> asyncio.Task[None]:
        """Run ``job`` once. If it raises, log it at ERROR and call ``on_error`` with it."""
        task = self._track(self._once(job, name, on_error), name)
        # Cancelled before it began, ``job`` was never awaited: close it quietly.
        task.add_done_callback(lambda _: job.close())
        return task

    def supervise(self, name: str, run: Callable[[], Awaitable[None]]) -> asyncio.Task[None]:
        """Run the loop ``run()`` until it returns or is cancelled; whenever it raises, log it
        at ERROR and start it again after a pause that grows with failures in a row."""
        return self._track(self._forever(name, run), name)

    async def _once(
        self,
        job: Coroutine[Any, Any, None],
        name: str,
        on_error: Callable[[Exception], None] | None,
    ) -> None:
        try:
            await job
        except Exception as exc:
            log.error("background job %s failed: %r", name, exc, exc_info=exc)
            if on_error is not None:
                on_error(exc)

    async def _forever(self, name: str, run: Callable[[], Awaitable[None]]) -> None:
        loop = asyncio.get_running_loop()
        pause = self.backoff
        while True:
            started = loop.time()
            try:
                await run()
            except Exception as exc:
                if loop.time() - started > HEALTHY_AFTER:
                    pause = self.backoff
                log.error(
                    "background loop %s failed (%r); restarting it in %.1f s",
                    name,
                    exc,
                    pause,
                    exc_info=exc,
                )
                self.restarts += 1
                await asyncio.sleep(pause)
                pause = min(pause * 2, self.max_backoff)
            else:
                return

    def cancel(self) -> None:
        """Cancel every task (without waiting for them)."""
        for task in self._tasks:
            task.cancel()

    async def aclose(self) -> None:
        """Cancel every task and wait until they have ended."""
        while self._tasks:  # a task ending may not start another, but be sure
            tasks = list(self._tasks)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._tasks.difference_update(tasks)
