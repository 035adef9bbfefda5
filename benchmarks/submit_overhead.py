"""Submit overhead: the client-side cost of ``submit_generate`` (validation, converter, token,
envelope, registry) against a raw aiohttp POST of the same JSON to the same simulator, as a
ratio. Prints one JSON line.

    python benchmarks/submit_overhead.py [--calls 2000] [--rounds 6] [--quick]

The simulator (``FakeGateway``, callbacks off) runs in a separate process, so this process's
CPU time is the client's own. Each round makes ``--calls`` sequential calls with each client,
alternating which goes first: ``client.submit_generate(prompt, model=V5)`` (a fresh token, the
request model, the converter, ``POST /suno/generate``, the envelope, the task id bound in the
registry), and ``session.post(url, json=body)`` with the JSON the SDK sends (the same keys,
the same callback URL shape) on an ``aiohttp.ClientSession`` with the same headers, reading
``data.taskId`` from the answer. Figures: client CPU microseconds per call (the target's
"client-side cost") and wall-clock milliseconds per call, and their SDK / raw ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import aiohttp
from _common import QUIET_POLL, emit, gateway_process, median, r, say

from anyint_music import AnyIntMusic, Model

TARGET_RATIO = 1.2
API_KEY = "sk-fake-anyint"  # FakeGateway's default key
PROMPT = "A bright summer pop song about travel, take {}"


async def sdk_calls(client: AnyIntMusic, count: int, start: int) -> list[str]:
    ids = []
    for i in range(start, start + count):
        task = await client.submit_generate(PROMPT.format(i), model=Model.V5)
        ids.append(task.id)
    return ids


async def raw_calls(
    session: aiohttp.ClientSession, url: str, public: str, count: int, start: int
) -> list[str]:
    ids = []
    for i in range(start, start + count):
        body = {
            "customMode": False,
            "instrumental": False,
            "model": "V5",
            "callBackUrl": f"{public}/anyint/callbacks/raw{i:026d}",
            "prompt": PROMPT.format(i),
        }
        async with session.post(url, json=body) as resp:
            answer = await resp.json()
        ids.append(answer["data"]["taskId"])
    return ids


async def timed(calls: Any, count: int) -> dict[str, float]:
    gc.collect()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    ids = await calls
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    assert len(set(ids)) == count, "every call must create its own task"
    return {"cpu_us": cpu / count * 1e6, "wall_ms": wall / count * 1e3}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    rounds: list[dict[str, dict[str, float]]] = []
    async with gateway_process(drop_callbacks=True) as gw_url:
        client = AnyIntMusic(api_key=API_KEY, base_url=gw_url, poll_interval=QUIET_POLL)
        headers = {
            "Authorization": f"Bearer {API_KEY}",
            "User-Agent": "anyint-music/bench",
            "Accept": "application/json",
        }
        async with client, aiohttp.ClientSession(headers=headers) as session:
            public = client.public_url or ""
            url = gw_url + "/suno/generate"
            n = 0
            warm = min(200, args.calls)
            await sdk_calls(client, warm, n)
            await raw_calls(session, url, public, warm, n)
            n += warm
            for k in range(args.rounds):
                figures: dict[str, dict[str, float]] = {}
                order = ("sdk", "raw") if k % 2 == 0 else ("raw", "sdk")
                for arm in order:
                    if arm == "sdk":
                        calls: Any = sdk_calls(client, args.calls, n)
                    else:
                        calls = raw_calls(session, url, public, args.calls, n)
                    figures[arm] = await timed(calls, args.calls)
                    n += args.calls
                sdk, raw = figures["sdk"], figures["raw"]
                say(
                    f"round {k + 1}/{args.rounds}: sdk {sdk['cpu_us']:.0f} us CPU "
                    f"{sdk['wall_ms']:.2f} ms wall; raw {raw['cpu_us']:.0f} us CPU "
                    f"{raw['wall_ms']:.2f} ms wall"
                )
                rounds.append(figures)

    def col(arm: str, key: str) -> list[float]:
        return [rd[arm][key] for rd in rounds]

    cpu_ratios = [s / w for s, w in zip(col("sdk", "cpu_us"), col("raw", "cpu_us"), strict=True)]
    wall_ratios = [s / w for s, w in zip(col("sdk", "wall_ms"), col("raw", "wall_ms"), strict=True)]
    cpu_ratio = median(cpu_ratios)
    return {
        "calls_per_round": args.calls,
        "rounds": args.rounds,
        "sdk": {
            "client_cpu_us_per_call": r(median(col("sdk", "cpu_us")), 1),
            "wall_ms_per_call": r(median(col("sdk", "wall_ms"))),
        },
        "raw": {
            "client_cpu_us_per_call": r(median(col("raw", "cpu_us")), 1),
            "wall_ms_per_call": r(median(col("raw", "wall_ms"))),
        },
        "sdk_extra_cpu_us_per_call": r(
            median(s - w for s, w in zip(col("sdk", "cpu_us"), col("raw", "cpu_us"), strict=True)),
            1,
        ),
        "ratio_cpu_sdk_to_raw": r(cpu_ratio),
        "ratio_wall_sdk_to_raw": r(median(wall_ratios)),
        "target_ratio": TARGET_RATIO,
        "target_met": cpu_ratio <= TARGET_RATIO,
        "per_round": {
            "cpu_ratio": [r(v) for v in cpu_ratios],
            "wall_ratio": [r(v) for v in wall_ratios],
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--calls", type=int, default=2000, help="sequential calls per arm and round"
    )
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--quick", action="store_true", help="a few seconds, for a smoke test")
    args = parser.parse_args()
    if args.quick:
        args.calls, args.rounds = min(args.calls, 300), 2
    emit("submit_overhead", asyncio.run(run(args)))


if __name__ == "__main__":
    main()
