"""Time to result: the callback path against a polling-only client at the vendors' suggested
30 s interval, on simulated task durations; and how many gateway requests each spends per
task. Prints one JSON line.

    python benchmarks/time_to_result.py [--tasks 150] [--rounds 3] [--scale 0.01] [--quick]

Time is scaled (``--scale``, default 1:100): each of a music task's three stages (text, first,
complete) takes a delay drawn uniformly from 30..70 s real (0.3..0.7 s scaled), so a task
completes after 90..210 s, mean 150 s (the documented 2-3 minutes); the 30 s poll interval
becomes 0.3 s. Figures are given scaled back to real seconds. Each arm gets its own
``FakeGateway`` (same seeded delay distribution) and ``--tasks`` tasks started evenly over
``--spread`` seconds (scaled):

- ``callback``: ``client.generate()`` with the SDK's defaults, scaled (``poll_interval`` 30 s:
  a task whose final callback has not come 30 s after its submit is polled, then at growing
  intervals);
- ``callback_only``: the same with ``poll_interval=None`` (callbacks alone);
- ``polling_30s``: no callbacks used: submit, then ``GET /suno/query/task`` every 30 s until
  the record says ``SUCCESS`` (a plain aiohttp loop, as a user without a receiver writes it);
- ``sdk_fallback_no_callbacks``: ``client.generate()`` with every callback lost at the
  gateway: the SDK's own polling fallback alone.

Time to result runs from the submit call to the awaiting coroutine holding the result;
``excess`` subtracts the task's own duration as the gateway timed it. Requests per task are
counted at the gateway (``POST /suno/generate``, ``GET /suno/query/task``), and callback
deliveries separately.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections import Counter
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import aiohttp
from _common import VariableDelayGateway, emit, median, percentile, r, say

from anyint_music import AnyIntMusic, Model

STAGE_MIN, STAGE_MAX = 30.0, 70.0  # real seconds per stage
POLL_REAL = 30.0  # the vendors' suggested poll interval, real seconds
ARMS = ("callback", "callback_only", "polling_30s", "sdk_fallback_no_callbacks")


async def sdk_task(client: AnyIntMusic, i: int, timeout: float) -> tuple[str, float]:
    loop = asyncio.get_running_loop()
    started = loop.time()
    song = await client.generate(f"time to result song {i}", model=Model.V5, timeout=timeout)
    assert len(song.tracks) == 2
    return song.task_id, loop.time() - started


async def polling_task(
    session: aiohttp.ClientSession, url: str, i: int, interval: float, timeout: float
) -> tuple[str, float]:
    loop = asyncio.get_running_loop()
    started = loop.time()
    body = {
        "customMode": False,
        "instrumental": False,
        "model": "V5",
        "callBackUrl": "http://127.0.0.1:9/unused",  # required by the API; never called here
        "prompt": f"time to result song {i}",
    }
    async with session.post(url + "/suno/generate", json=body) as resp:
        task_id: str = (await resp.json())["data"]["taskId"]
    async with asyncio.timeout(timeout):
        while True:
            await asyncio.sleep(interval)
            query = {"taskId": task_id}
            async with session.get(url + "/suno/query/task", params=query) as resp:
                record = (await resp.json())["data"]
            if record["status"] == "SUCCESS":
                tracks = record["response"]["sunoData"]
                assert len(tracks) == 2
                assert all(t["audioUrl"] for t in tracks)
                return task_id, loop.time() - started
            assert not record["status"].endswith(("FAILED", "ERROR"))


async def run_arm(arm: str, args: argparse.Namespace, seed: int) -> dict[str, Any]:
    scale = args.scale
    interval = POLL_REAL * scale
    timeout = 20 * 60 * scale
    gw = VariableDelayGateway(
        STAGE_MIN * scale,
        STAGE_MAX * scale,
        seed,
        drop_callbacks=arm in ("polling_30s", "sdk_fallback_no_callbacks"),
    )
    async with gw:
        step = args.spread * scale / max(args.tasks, 1)
        results: list[tuple[str, float]]
        if arm == "polling_30s":
            headers = {"Authorization": f"Bearer {gw.api_key}"}
            async with aiohttp.ClientSession(headers=headers) as session:

                async def one(i: int) -> tuple[str, float]:
                    await asyncio.sleep(i * step)
                    return await polling_task(session, gw.url, i, interval, timeout)

                results = list(await asyncio.gather(*(one(i) for i in range(args.tasks))))
        else:
            poll = None if arm == "callback_only" else interval
            client = AnyIntMusic(api_key=gw.api_key, base_url=gw.url, poll_interval=poll)
            async with client:

                async def one(i: int) -> tuple[str, float]:
                    await asyncio.sleep(i * step)
                    return await sdk_task(client, i, timeout)

                results = list(await asyncio.gather(*(one(i) for i in range(args.tasks))))
        await gw.wait_idle(timeout=30)
        paths = Counter(f"{q.method} {q.path}" for q in gw.requests)
        durations = {}
        for task in gw.tasks:
            assert task.complete_time is not None
            durations[task.id] = (task.complete_time - task.create_time).total_seconds()
        sent = gw.stats.callbacks_sent
    ttr = [t / scale for _, t in results]
    excess = [(t - durations[task_id]) / scale for task_id, t in results]
    n = len(results)
    return {
        "tasks": n,
        "ttr_mean_s": sum(ttr) / n,
        "ttr_median_s": median(ttr),
        "ttr_p90_s": percentile(ttr, 90),
        "excess_mean_s": sum(excess) / n,
        "excess_median_s": median(excess),
        "excess_p90_s": percentile(excess, 90),
        "task_duration_mean_s": sum(durations.values()) / len(durations) / scale,
        "requests_per_task": sum(paths.values()) / n,
        "submits_per_task": paths["POST /suno/generate"] / n,
        "polls_per_task": paths["GET /suno/query/task"] / n,
        "callbacks_per_task": sent / n,
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    rounds: list[dict[str, dict[str, Any]]] = []
    for k in range(args.rounds):
        figures = {}
        for arm in ARMS:
            figures[arm] = await run_arm(arm, args, seed=1000 * k + ARMS.index(arm))
        rounds.append(figures)
        cb, po = figures["callback"], figures["polling_30s"]
        say(
            f"round {k + 1}/{args.rounds}: callback {cb['ttr_mean_s']:.1f} s, "
            f"{cb['requests_per_task']:.2f} req/task; polling {po['ttr_mean_s']:.1f} s, "
            f"{po['requests_per_task']:.2f} req/task"
        )
    keys = [k for k in rounds[0]["callback"] if k != "tasks"]
    arms = {arm: {key: r(median(rd[arm][key] for rd in rounds), 2) for key in keys} for arm in ARMS}
    gain_mean = median(
        rd["polling_30s"]["ttr_mean_s"] - rd["callback"]["ttr_mean_s"] for rd in rounds
    )
    gain_p90 = median(rd["polling_30s"]["ttr_p90_s"] - rd["callback"]["ttr_p90_s"] for rd in rounds)
    return {
        "tasks_per_arm": args.tasks,
        "rounds": args.rounds,
        "time_scale": args.scale,
        "units": "real seconds (scaled back)",
        "model": {
            "stage_delay_s": [STAGE_MIN, STAGE_MAX],
            "stages": 3,
            "task_duration_mean_s": 3 * (STAGE_MIN + STAGE_MAX) / 2,
            "poll_interval_s": POLL_REAL,
        },
        "arms": arms,
        "callback_gain_vs_polling_s": {"mean": r(gain_mean, 2), "p90": r(gain_p90, 2)},
        "requests_per_task": {arm: arms[arm]["requests_per_task"] for arm in ARMS},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=150, help="tasks per arm and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scale", type=float, default=0.01, help="simulated s per real s")
    parser.add_argument("--spread", type=float, default=150.0, help="start window, real s")
    parser.add_argument("--quick", action="store_true", help="a few seconds, for a smoke test")
    args = parser.parse_args()
    if args.quick:
        args.tasks, args.rounds, args.scale, args.spread = min(args.tasks, 30), 1, 0.004, 60.0
    emit("time_to_result", asyncio.run(run(args)))


if __name__ == "__main__":
    main()
