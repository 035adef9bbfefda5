"""Callback-to-result latency: from a callback request reaching the server to the coroutine
awaiting that task running again, p50 and p99, at the saturating rate and at half of it.
Prints one JSON line.

    python benchmarks/callback_latency.py [--rounds 3] [--saturate 20000] [--seconds 5] [--quick]

Per round: the saturating rate is measured first (``--saturate`` callbacks, closed loop,
``--concurrency`` connections from a separate load process, each callback a realistic 2-track
``complete`` body to its own pending task); then a fresh set of pending tasks gets callbacks
released open-loop at half that rate for ``--seconds``. The same two loads go to the bare
reference receiver (an aiohttp handler that parses the JSON and sets a future), the moderate
one at the SDK's half rate, so the two compare at equal load.

"Reaching the server" is an aiohttp middleware's first line (headers parsed, handler about to
run), stamped per token; "running again" is the awaiting coroutine's first line after
``await task.wait()``. Both use ``time.monotonic_ns()``. The SDK's callback route is served
with the public ``client.callback_routes()`` (the very handler of the embedded receiver) in an
app that has that middleware. ``e2e`` figures start instead when the load process wrote the
request (CLOCK_MONOTONIC is shared between processes on Linux).
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
    BareReceiver,
    Target,
    Waiters,
    arrival_stamp,
    bench_client,
    body_bytes,
    emit,
    median,
    mint_registry,
    percentile,
    r,
    run_load,
    say,
    serve_routes,
)

from anyint_music import AnyIntMusic

TARGET_P99_MS = 3.0  # at half the saturating rate
TARGET_SAT_RATIO = 2.0  # p99 at saturation, against the bare receiver's in the same round


async def phase(
    port: int,
    targets: list[Target],
    waiters: Waiters,
    arrivals: dict[str, int],
    *,
    rate: float | None,
    concurrency: int,
) -> dict[str, float]:
    """One load (closed loop when ``rate`` is None); the latencies it produced, in ms."""
    await asyncio.sleep(0)
    gc.collect()
    load = await run_load(
        port,
        targets,
        mode="closed" if rate is None else "open",
        rate=rate,
        concurrency=concurrency,
        record=True,
    )
    await waiters.join(timeout=30)
    lat: list[float] = []
    e2e: list[float] = []
    for i, target in enumerate(targets):
        resumed = waiters.resumed.get(target.token)
        if resumed is None:
            continue
        arrived = arrivals.get(target.token)
        if arrived is not None:
            lat.append((resumed - arrived) / 1e6)
        if load.sent_ns and load.sent_ns[i]:
            e2e.append((resumed - load.sent_ns[i]) / 1e6)
    return {
        "offered_per_s": rate if rate is not None else load.rate,
        "achieved_per_s": load.rate,
        "p50_ms": percentile(lat, 50),
        "p99_ms": percentile(lat, 99),
        "max_ms": max(lat) if lat else float("nan"),
        "e2e_p50_ms": percentile(e2e, 50),
        "e2e_p99_ms": percentile(e2e, 99),
        "measured": len(lat),
        "errors": load.errors + (load.completed - load.ok) + int(load.timed_out),
        "late_releases": load.late,
    }


async def sdk_phase(
    client: AnyIntMusic,
    port: int,
    arrivals: dict[str, int],
    count: int,
    salt: str,
    rate: float | None,
    concurrency: int,
) -> dict[str, float]:
    targets = await mint_registry(client, count, salt)
    waiters = Waiters()
    waiters.await_sdk(client, targets)
    return await phase(port, targets, waiters, arrivals, rate=rate, concurrency=concurrency)


async def bare_phase(
    bare: BareReceiver,
    arrivals: dict[str, int],
    count: int,
    salt: str,
    rate: float | None,
    concurrency: int,
) -> dict[str, float]:
    targets, waiters = bare.round(count, salt)
    return await phase(bare.port, targets, waiters, arrivals, rate=rate, concurrency=concurrency)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    arrivals: dict[str, int] = {}
    bare = BareReceiver()
    await bare.start([arrival_stamp(arrivals)])
    # The gateway is never contacted: tokens are minted in the registry.
    client = bench_client(receiver=False, public_url="http://127.0.0.1:9")
    rounds: list[dict[str, dict[str, float]]] = []
    try:
        async with client:
            runner, port = await serve_routes(client.callback_routes(), [arrival_stamp(arrivals)])
            try:
                warm = min(1000, args.saturate)
                await sdk_phase(client, port, arrivals, warm, "warm", None, args.concurrency)
                await bare_phase(bare, arrivals, warm, "warm", None, args.concurrency)
                for n in range(args.rounds):
                    arrivals.clear()
                    sat = await sdk_phase(
                        client, port, arrivals, args.saturate, f"sat-{n}", None, args.concurrency
                    )
                    half = sat["achieved_per_s"] / 2
                    moderate_count = max(200, int(half * args.seconds))
                    mod = await sdk_phase(
                        client, port, arrivals, moderate_count, f"mod-{n}", half, args.pool
                    )
                    bare_sat = await bare_phase(
                        bare, arrivals, args.saturate, f"sat-{n}", None, args.concurrency
                    )
                    bare_mod = await bare_phase(
                        bare, arrivals, moderate_count, f"mod-{n}", half, args.pool
                    )
                    say(
                        f"round {n + 1}/{args.rounds}: saturating {sat['achieved_per_s']:.0f}/s "
                        f"p50 {sat['p50_ms']:.2f} p99 {sat['p99_ms']:.2f} ms; half rate "
                        f"{mod['achieved_per_s']:.0f}/s p50 {mod['p50_ms']:.2f} "
                        f"p99 {mod['p99_ms']:.2f} ms (bare p99 {bare_mod['p99_ms']:.2f} ms); "
                        f"bare saturating p99 {bare_sat['p99_ms']:.2f} ms"
                    )
                    rounds.append(
                        {
                            "sdk_sat": sat,
                            "sdk_half": mod,
                            "bare_sat": bare_sat,
                            "bare_half": bare_mod,
                        }
                    )
            finally:
                await runner.cleanup()
    finally:
        await bare.stop()

    def summary(name: str) -> dict[str, float]:
        keys = (
            "offered_per_s",
            "achieved_per_s",
            "p50_ms",
            "p99_ms",
            "max_ms",
            "e2e_p50_ms",
            "e2e_p99_ms",
        )
        return {k: r(median(rd[name][k] for rd in rounds), 3) for k in keys}

    p99 = median(rd["sdk_half"]["p99_ms"] for rd in rounds)
    sat_ratios = [rd["sdk_sat"]["p99_ms"] / rd["bare_sat"]["p99_ms"] for rd in rounds]
    sat_ratio = median(sat_ratios)
    errors = sum(rd[k]["errors"] for rd in rounds for k in rd)
    return {
        "rounds": args.rounds,
        "concurrency": args.concurrency,
        "body_bytes": body_bytes(),
        "sdk": {"saturating": summary("sdk_sat"), "half_rate": summary("sdk_half")},
        "bare": {"saturating": summary("bare_sat"), "half_rate": summary("bare_half")},
        "p99_ms_at_half_rate": r(p99),
        "target_p99_ms": TARGET_P99_MS,
        "p99_at_saturation_sdk_to_bare": r(sat_ratio),
        "target_sat_ratio": TARGET_SAT_RATIO,
        "target_met": p99 < TARGET_P99_MS and sat_ratio <= TARGET_SAT_RATIO,
        "per_round_p99_ms_at_half_rate": [r(rd["sdk_half"]["p99_ms"]) for rd in rounds],
        "per_round_p99_at_saturation_sdk_to_bare": [r(v) for v in sat_ratios],
        "errors": int(errors),
        "late_releases": int(sum(rd[k]["late_releases"] for rd in rounds for k in rd)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--saturate", type=int, default=20000, help="callbacks to find the rate")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of the half-rate load")
    parser.add_argument("--concurrency", type=int, default=64, help="connections, closed loop")
    parser.add_argument("--pool", type=int, default=64, help="connections, open loop")
    parser.add_argument("--quick", action="store_true", help="a few seconds, for a smoke test")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.saturate, args.seconds = 1, min(args.saturate, 1000), 1.0
    emit("callback_latency", asyncio.run(run(args)))


if __name__ == "__main__":
    main()
