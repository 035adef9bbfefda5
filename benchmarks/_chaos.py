"""Shared by the chaos test and benchmark: N tasks through a seeded storm, then the tally."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

import attrs

from anyint_music import AnyIntError, AnyIntMusic, Model
from anyint_music.testing import Chaos, FakeGateway


@attrs.frozen
class Tally:
    tasks: int
    resolved: int
    failed: int
    lost: int
    misrouted: int
    created_twice: int
    overtime: int
    seconds: float
    gateway: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)


async def run_storm(
    count: int, *, seed: int = 1, timeout: float = 60.0, concurrency: int = 500
) -> Tally:
    """``count`` generate calls through a chaos gateway; count what came back and how."""
    # A receiver slower than 20 ms to answer counts as failed and is sent the callback again.
    chaos = Chaos(seed=seed, slow_answer_timeout=0.02)
    async with FakeGateway(chaos=chaos, retry_delays=(0.05, 0.25, 0.75), record=False) as gw:
        async with AnyIntMusic(
            api_key=gw.api_key,
            base_url=gw.url,
            timeout=timeout,
            poll_interval=1.0,
            retry_backoff=0.02,
            retry_max_time=timeout,
        ) as client:
            slots = asyncio.Semaphore(concurrency)
            outcomes: list[tuple[str, str, Any]] = []
            overtime = 0

            async def one(i: int) -> None:
                nonlocal overtime
                prompt = f"chaos song number {i}"
                async with slots:
                    started = time.monotonic()
                    try:
                        song = await client.generate(prompt, model=Model.V5)
                    except AnyIntError as exc:
                        outcomes.append((prompt, "failed", exc))
                        return
                    finally:
                        # a wait may end at its timeout, never much past it
                        if time.monotonic() - started > timeout + 5:
                            overtime += 1
                    outcomes.append((prompt, "ok", song))

            began = time.monotonic()
            await asyncio.gather(*(one(i) for i in range(count)))
            seconds = time.monotonic() - began
        await gw.wait_idle(timeout=30)
        misrouted = 0
        for prompt, status, song in outcomes:
            if status != "ok":
                continue
            made = gw.task(song.task_id)
            own = made.request.get("prompt") == prompt
            same = [t.id for t in song.tracks] == [t["id"] for t in made.result or ()]
            misrouted += not (own and same)
        per_prompt = Counter(t.request.get("prompt") for t in gw.tasks)
        stats = attrs.asdict(gw.stats)
    statuses = Counter(status for _, status, _ in outcomes)
    return Tally(
        tasks=count,
        resolved=statuses["ok"],
        failed=statuses["failed"],
        lost=count - len(outcomes),
        misrouted=misrouted,
        created_twice=sum(1 for n in per_prompt.values() if n > 1),
        overtime=overtime,
        seconds=round(seconds, 2),
        gateway=stats,
    )
