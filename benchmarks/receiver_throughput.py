"""Receiver throughput: callbacks per second through the SDK's whole receiver path (token
lookup, JSON, structuring, dedupe, waking the waiter) against a bare aiohttp handler that only
parses the JSON and sets a future in a dict, under the same load. Prints one JSON line.

    python benchmarks/receiver_throughput.py [--callbacks 20000] [--rounds 5] [--quick]

Each round sends one realistic 2-track ``complete`` callback (PROTOCOL.md §1.3) to every one
of ``--callbacks`` fresh pending tasks, each awaited by its own coroutine, from a separate
load process on 127.0.0.1 (keep-alive connections, ``--concurrency`` in flight), once to the
SDK's embedded receiver and once to the bare one, alternating which goes first. The figure is
completed callbacks per second as the load process saw them; the ratio is taken per round and
its median reported. Tokens are minted through the SDK's registry (``--mint registry``,
default: what a submit does, without its HTTP round trip) or by real ``submit_generate`` calls
to a ``FakeGateway`` that sends no callbacks (``--mint submit``).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import (
    QUIET_POLL,
    BareReceiver,
    Target,
    Waiters,
    bench_client,
    body_bytes,
    emit,
    median,
    mint_registry,
    mint_submit,
    port_of,
    r,
    run_load,
    say,
)

from anyint_music import AnyIntMusic
from anyint_music.testing import FakeGateway

TARGET_RATIO = 0.85


async def sdk_round(
    client: AnyIntMusic, gw: FakeGateway | None, count: int, salt: str, concurrency: int
) -> dict[str, float]:
    if gw is None:
        targets = await mint_registry(client, count, salt)
    else:
        targets = await mint_submit(client, gw, count, salt)
    waiters = Waiters()
    waiters.await_sdk(client, targets)
    return await _measure(port_of(client.public_url), targets, waiters, concurrency)


async def bare_round(
    bare: BareReceiver, count: int, salt: str, concurrency: int
) -> dict[str, float]:
    targets, waiters = bare.round(count, salt)
    return await _measure(bare.port, targets, waiters, concurrency)


async def _measure(
    port: int, targets: list[Target], waiters: Waiters, concurrency: int
) -> dict[str, float]:
    await asyncio.sleep(0)  # every waiter reaches its await
    gc.collect()  # the same clean start for both arms
    load = await run_load(port, targets, concurrency=concurrency)
    await waiters.join(timeout=30)
    return {
        "rate": load.rate,
        "ok": load.ok,
        "errors": load.errors + (load.completed - load.ok) + int(load.timed_out),
        "resolved": waiters.ok,
        "wrong": waiters.bad,
        "server_cpu": load.server_cpu,
        "cpu_us": load.server_cpu_seconds / max(load.completed, 1) * 1e6,
        "loadgen_cpu": load.cpu_seconds / load.seconds,
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    bare = BareReceiver()
    await bare.start()
    gw: FakeGateway | None = None
    if args.mint == "submit":
        gw = FakeGateway(drop_callbacks=True, record=False)
        await gw.start()
        client = AnyIntMusic(api_key=gw.api_key, base_url=gw.url, poll_interval=QUIET_POLL)
    else:
        client = bench_client()
    rounds: list[dict[str, dict[str, float]]] = []
    try:
        async with client:
            warm = min(1000, args.callbacks)
            await sdk_round(client, gw, warm, "warm-sdk", args.concurrency)
            await bare_round(bare, warm, "warm-bare", args.concurrency)
            for n in range(args.rounds):
                arms: tuple[str, ...] = ("sdk", "bare") if n % 2 == 0 else ("bare", "sdk")
                if args.only:  # for profiling one arm: the other gets no load (ratio 1)
                    arms = (args.only,)
                figures: dict[str, dict[str, float]] = {}
                for arm in arms:
                    salt = f"{arm}-{n}"
                    if arm == "sdk":
                        figures[arm] = await sdk_round(
                            client, gw, args.callbacks, salt, args.concurrency
                        )
                    else:
                        figures[arm] = await bare_round(
                            bare, args.callbacks, salt, args.concurrency
                        )
                for missing in {"sdk", "bare"} - figures.keys():
                    figures[missing] = figures[args.only]
                ratio = figures["sdk"]["rate"] / figures["bare"]["rate"]
                say(
                    f"round {n + 1}/{args.rounds}: sdk {figures['sdk']['rate']:.0f}/s, "
                    f"bare {figures['bare']['rate']:.0f}/s, ratio {ratio:.3f}"
                )
                rounds.append(figures)
    finally:
        await bare.stop()
        if gw is not None:
            await gw.close()

    def col(name: str, key: str) -> list[float]:
        return [rd[name][key] for rd in rounds]

    ratios = [s / b for s, b in zip(col("sdk", "rate"), col("bare", "rate"), strict=True)]
    ratio = median(ratios)
    cpu_ratios = [b / s for s, b in zip(col("sdk", "cpu_us"), col("bare", "cpu_us"), strict=True)]
    errors = sum(col("sdk", "errors")) + sum(col("bare", "errors"))
    unresolved = sum(args.callbacks - rd[a]["resolved"] for rd in rounds for a in ("sdk", "bare"))
    return {
        "callbacks_per_round": args.callbacks,
        "rounds": args.rounds,
        "concurrency": args.concurrency,
        "body_bytes": body_bytes(),
        "mint": args.mint,
        "sdk_callbacks_per_s": r(median(col("sdk", "rate")), 1),
        "bare_callbacks_per_s": r(median(col("bare", "rate")), 1),
        "ratio_sdk_to_bare": None if args.only else r(ratio),
        "target_ratio": TARGET_RATIO,
        "target_met": None if args.only else ratio >= TARGET_RATIO,
        "server_cpu_us_per_callback": {
            "sdk": r(median(col("sdk", "cpu_us")), 1),
            "bare": r(median(col("bare", "cpu_us")), 1),
        },
        # bare CPU per callback / SDK CPU per callback: the throughput ratio a server with a
        # whole core to itself would show (steadier than wall-clock rates on a shared machine)
        "cpu_ratio_sdk_to_bare": r(median(cpu_ratios)),
        "per_round": {
            "sdk_per_s": [r(v, 1) for v in col("sdk", "rate")],
            "bare_per_s": [r(v, 1) for v in col("bare", "rate")],
            "ratio": [r(v) for v in ratios],
            "cpu_ratio": [r(v) for v in cpu_ratios],
        },
        "server_cpu_per_wall_s": {
            "sdk": r(median(col("sdk", "server_cpu")), 2),
            "bare": r(median(col("bare", "server_cpu")), 2),
        },
        "loadgen_cpu_per_wall_s": {
            "sdk": r(median(col("sdk", "loadgen_cpu")), 2),
            "bare": r(median(col("bare", "loadgen_cpu")), 2),
        },
        "errors": int(errors),
        "unresolved": int(unresolved),
        "wrong_results": int(sum(col("sdk", "wrong")) + sum(col("bare", "wrong"))),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--callbacks", type=int, default=20000, help="callbacks per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=64, help="connections in flight")
    parser.add_argument("--mint", choices=("registry", "submit"), default="registry")
    parser.add_argument(
        "--only", choices=("sdk", "bare"), help="load one arm only (for profiling; no ratio)"
    )
    parser.add_argument("--quick", action="store_true", help="a few seconds, for a smoke test")
    args = parser.parse_args()
    if args.quick:
        args.callbacks, args.rounds = min(args.callbacks, 1000), 1
    emit("receiver_throughput", asyncio.run(run(args)))


if __name__ == "__main__":
    main()
