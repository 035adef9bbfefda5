"""Polls per task and the polling fallback's delay: what the polling fallback costs when
callbacks are healthy, and how late it brings a result when every callback is lost. Prints one
JSON line.

    python benchmarks/polls_per_task.py [--tasks 300] [--spread 30] [--quick]

Time is scaled: ``poll_interval`` is 0.2 s (the default 30 s, 1:150) and each of a music task's
three stages (text, first, complete) takes ``--stage-delay`` (default 0.37 s) times a seeded
uniform draw in 1 +- ``--jitter`` (default 0.25), so a task finishes 4.2..6.9 (mean 5.55)
poll intervals after its submit, as a real 2-3 minute task does with the default 30 s
(``--jitter 0``: every task exactly 5.55 intervals). Each scenario gets a fresh gateway and
client (the SDK's defaults but ``poll_interval``) and ``--tasks`` ``client.generate()`` calls
started evenly over ``--spread`` seconds:

- ``healthy``: callbacks delivered. Polls per task are counted at the gateway (``GET
  /suno/query/...`` with the task's id) and cross-checked with ``client.stats().polls``;
  given as the mean over all tasks and over the tasks after the first ``--warmup`` submitted
  (a fallback that learns from the callbacks it sees needs a few tasks to do so).
- ``callbacks_lost``: ``drop_callbacks=True``, so only the polling fallback brings results.
  Delay runs from the task finishing upstream (the simulator's ``SimTask.complete_time``, set
  when its record turns ``SUCCESS``) to the awaiting coroutine holding the result; mean, median
  and p90 in units of ``poll_interval`` (and seconds, scaled).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections import Counter
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import VariableDelayGateway, emit, median, percentile, r, say

from anyint_music import AnyIntMusic, Model

POLL_INTERVAL = 0.2  # scaled: the default 30 s
STAGE_DELAY = 0.37  # scaled: 3 stages = 1.11 s = 5.55 poll intervals, on average
JITTER = 0.25  # each stage takes STAGE_DELAY * uniform(1 - JITTER, 1 + JITTER)
QUERY_PREFIX = "/suno/query/"


async def run_scenario(args: argparse.Namespace, *, lost: bool) -> dict[str, Any]:
    low, high = args.stage_delay * (1 - args.jitter), args.stage_delay * (1 + args.jitter)
    gw = VariableDelayGateway(low, high, args.seed, drop_callbacks=lost)
    async with gw:
        client = AnyIntMusic(api_key=gw.api_key, base_url=gw.url, poll_interval=args.interval)
        async with client:
            step = args.spread / max(args.tasks, 1)
            timeout = 60 * args.interval + 10 * args.stage_delay

            async def one(i: int) -> tuple[int, str, float]:
                await asyncio.sleep(i * step)
                song = await client.generate(
                    f"polls per task song {i}", model=Model.V5, timeout=timeout
                )
                arrived = time.time()  # wall clock, as the simulator's complete_time
                assert len(song.tracks) == 2
                return i, song.task_id, arrived

            results = await asyncio.gather(*(one(i) for i in range(args.tasks)))
            client_polls = client.stats().polls
        await gw.wait_idle(timeout=30)
        polls = Counter(
            q.query.get("taskId", "")
            for q in gw.requests
            if q.method == "GET" and q.path.startswith(QUERY_PREFIX)
        )
        finished = {}
        for task in gw.tasks:
            assert task.complete_time is not None
            finished[task.id] = task.complete_time.timestamp()
        durations = [
            (t.complete_time - t.create_time).total_seconds()
            for t in gw.tasks
            if t.complete_time is not None
        ]
    n = len(results)
    order = sorted(results)  # by submit order
    per_task = [polls[task_id] for _, task_id, _ in order]
    after = per_task[args.warmup :]
    figures: dict[str, Any] = {
        "tasks": n,
        "polls_per_task_mean": r(sum(per_task) / n),
        "polls_per_task_after_warmup_mean": r(sum(after) / len(after)) if after else None,
        "polls_per_task_max": max(per_task),
        "polls_at_gateway": sum(polls.values()),
        "polls_client_stats": client_polls,
        "task_duration_intervals_mean": r(sum(durations) / len(durations) / args.interval, 2),
    }
    if lost:
        delays = [(arrived - finished[task_id]) / args.interval for _, task_id, arrived in order]
        figures.update(
            delay_intervals_mean=r(sum(delays) / n),
            delay_intervals_median=r(median(delays)),
            delay_intervals_p90=r(percentile(delays, 90)),
            delay_intervals_max=r(max(delays)),
            delay_s_mean=r(sum(delays) / n * args.interval),
        )
    return figures


async def run(args: argparse.Namespace) -> dict[str, Any]:
    healthy = await run_scenario(args, lost=False)
    say(
        f"healthy: {healthy['polls_per_task_mean']} polls/task "
        f"({healthy['polls_per_task_after_warmup_mean']} after the first {args.warmup})"
    )
    lost = await run_scenario(args, lost=True)
    say(
        f"callbacks lost: delay mean {lost['delay_intervals_mean']}, "
        f"p90 {lost['delay_intervals_p90']} poll intervals"
    )
    return {
        "settings": {
            "tasks": args.tasks,
            "spread_s": args.spread,
            "poll_interval_s": args.interval,
            "stage_delay_s": args.stage_delay,
            "stage_jitter": args.jitter,
            "stages": 3,
            "task_duration_intervals": r(3 * args.stage_delay / args.interval, 2),
            "warmup_tasks": args.warmup,
        },
        "healthy": healthy,
        "callbacks_lost": lost,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=300, help="tasks per scenario")
    parser.add_argument("--spread", type=float, default=30.0, help="start window, seconds")
    parser.add_argument("--interval", type=float, default=POLL_INTERVAL, help="poll_interval")
    parser.add_argument("--stage-delay", type=float, default=STAGE_DELAY, help="per stage, s")
    parser.add_argument("--jitter", type=float, default=JITTER, help="stage delay +- fraction")
    parser.add_argument("--seed", type=int, default=1, help="seed of the stage delays")
    parser.add_argument("--warmup", type=int, default=10, help="first tasks left out")
    parser.add_argument("--quick", action="store_true", help="a few seconds, for a smoke test")
    args = parser.parse_args()
    if args.quick:
        args.tasks, args.spread = min(args.tasks, 40), 4.0
    emit("polls_per_task", asyncio.run(run(args)))


if __name__ == "__main__":
    main()
