"""Memory per pending task with 100,000 pending waits, and after they all complete and are
pruned. Prints one JSON line.

    python benchmarks/pending_memory.py [--tasks 100000] [--rounds 1] [--quick]

Each measurement runs in a fresh child process, twice: once under ``python -X tracemalloc``
(Python heap, traced from interpreter start, so "base" is the whole heap of an open client)
and once without it (resident set size, untouched by tracemalloc's own bookkeeping). Steps:

1. ``base``: an open client (default ``MemoryStore``, polling on but far off) after a warm-up of
   1,000 tasks submitted, resolved and pruned;
2. ``pending``: ``--tasks`` tokens minted and bound to task ids through the SDK's registry
   (what a submit does, minus its HTTP round trip): token, binding, future, poller entry;
3. ``waiting``: plus one coroutine per task awaiting ``client.task(task_id).wait()`` (held in a
   list, as ``asyncio.gather`` would hold them);
4. ``completed``: a realistic 2-track ``complete`` callback body for every task handed to the
   receiver's logic (``CallbackHandler.handle``: token lookup, JSON, converter, dedupe, wake;
   no HTTP, which allocates nothing that outlives a request), every waiter finished and
   dropped; finished tasks stay known for ``retention`` (at most 10,000 of them);
5. ``pruned``: after ``retention`` has passed, ``registry.prune()`` (the housekeeper's job,
   run every 60 s) and a ``gc.collect()``.

Bytes per task are (step - previous step) / tasks; "after prune" is compared with "base", and
also without the growth of asyncio's own set of live tasks, which keeps the room its 100,000
waiters needed whatever the SDK does.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import subprocess
import sys
import time
import tracemalloc
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import (
    PLACEHOLDERS,
    Target,
    bench_client,
    body_template,
    emit,
    median,
    r,
    rss_bytes,
    say,
    task_id_for,
)
from multidict import CIMultiDict

from anyint_music import AnyIntMusic, MusicResult, Task, TaskKind

TARGET_BYTES = 2048
TARGET_PRUNED = 0.10


def measure() -> dict[str, int]:
    gc.collect()
    traced = tracemalloc.get_traced_memory()[0] if tracemalloc.is_tracing() else 0
    return {"traced": traced, "rss": rss_bytes()}


def malloc_trim() -> dict[str, int]:
    """RSS after asking glibc to give freed heap pages back (diagnostic: allocator retention
    versus live objects); the same as ``measure()`` where there is no glibc."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
    return measure()


async def mint(client: AnyIntMusic, count: int, salt: str) -> None:
    """Tokens and bindings, nothing kept outside the SDK (task ids are recomputed)."""
    registry = client._registry
    for i in range(count):
        state = await registry.new(TaskKind.MUSIC)
        await registry.bind(state, task_id_for(i, salt))


async def complete(client: AnyIntMusic, count: int, salt: str) -> int:
    """Every task's ``complete`` callback through the receiver's logic; how many got 200."""
    handler = client._callbacks
    registry = client._registry
    headers: CIMultiDict[str] = CIMultiDict({"Content-Type": "application/json"})
    template = body_template().encode()
    accepted = 0
    for i in range(count):
        task_id = task_id_for(i, salt)
        state = registry.get_task(task_id)
        assert state is not None
        assert state.token is not None
        raw = template
        for name, value in zip(PLACEHOLDERS, Target("", task_id).job_entry()[1], strict=True):
            raw = raw.replace(name.encode(), value.encode())
        status, _ = await handler.handle(state.token, raw, headers, "127.0.0.1")
        accepted += status == 200
    return accepted


async def wait_one(task: Task[MusicResult]) -> int:
    result = await task.wait()
    return len(result.tracks)


def top_sites(
    before: tracemalloc.Snapshot, after: tracemalloc.Snapshot, count: int
) -> list[dict[str, Any]]:
    """The allocation sites that grew most between two snapshots, in bytes per task."""
    here = os.path.dirname(os.path.abspath(__file__))
    stats = after.compare_to(before, "lineno")
    out = []
    for stat in stats[:12]:
        frame = stat.traceback[0]
        name = frame.filename
        for root in (os.path.dirname(here), os.path.dirname(os.__file__)):
            if name.startswith(root):
                name = os.path.relpath(name, root)
        per_task = r(stat.size_diff / count, 1)
        out.append({"site": f"{name}:{frame.lineno}", "bytes_per_task": per_task})
    return out


def containers(client: AnyIntMusic) -> dict[str, int]:
    """Sizes of the SDK's per-task tables (a dict keeps its table after its keys are deleted)."""
    registry = client._registry
    poller = client._poller
    all_tasks = getattr(getattr(asyncio.tasks, "_all_tasks", None), "data", None)
    return {
        "registry._by_token": sys.getsizeof(registry._by_token),
        "registry._by_task": sys.getsizeof(registry._by_task),
        "registry._finished": sys.getsizeof(registry._finished),
        "poller._scheduled": sys.getsizeof(poller._scheduled),
        "poller._heap": sys.getsizeof(poller._heap),
        # not the SDK's: asyncio's set of live tasks, grown by the 100,000 waiting coroutines
        "asyncio.tasks._all_tasks": sys.getsizeof(all_tasks) if all_tasks is not None else 0,
    }


async def child(tasks: int, retention: float, sites: bool) -> dict[str, Any]:
    client = bench_client(retention=retention)
    figures: dict[str, Any] = {}
    async with client:
        registry = client._registry
        # warm-up: every code path once, so caches and interned names are in the base
        first = min(1000, tasks)
        await mint(client, first, "warm")
        warm = [
            asyncio.ensure_future(wait_one(client.task(task_id_for(i, "warm"))))
            for i in range(first)
        ]
        await complete(client, first, "warm")
        await asyncio.gather(*warm)
        del warm
        await asyncio.sleep(retention + 0.2)
        registry.prune()
        figures["base"] = measure()
        figures["containers_base"] = containers(client)
        snap_base = tracemalloc.take_snapshot() if sites and tracemalloc.is_tracing() else None

        started = time.monotonic()
        await mint(client, tasks, "bench")
        figures["pending"] = measure()
        figures["pending_known"] = len(registry)
        waiting = [
            asyncio.ensure_future(wait_one(client.task(task_id_for(i, "bench"))))
            for i in range(tasks)
        ]
        await asyncio.sleep(0)  # every waiter reaches its await
        figures["waiting"] = measure()
        if snap_base is not None:
            snap = tracemalloc.take_snapshot()
            figures["top_sites"] = top_sites(snap_base, snap, tasks)
            del snap
        del snap_base

        figures["accepted"] = await complete(client, tasks, "bench")
        tracks = await asyncio.gather(*waiting)
        figures["resolved"] = sum(1 for n in tracks if n == 2)
        del waiting, tracks
        figures["completed"] = measure()
        figures["completed_known"] = len(registry)
        await asyncio.sleep(retention + 0.2)  # every finished task is past retention
        registry.prune()
        figures["pruned"] = measure()
        figures["pruned_known"] = len(registry)
        figures["pruned_after_malloc_trim"] = malloc_trim()
        figures["containers_after_prune"] = containers(client)
        figures["containers_after_prune_len"] = {
            "registry._by_token": len(registry._by_token),
            "registry._by_task": len(registry._by_task),
            "poller._scheduled": len(client._poller._scheduled),
            "poller._heap": len(client._poller._heap),
        }
        figures["seconds"] = time.monotonic() - started
    return figures


def run_child(mode: str, tasks: int, retention: float, sites: bool) -> dict[str, Any]:
    cmd = [sys.executable]
    if mode == "tracemalloc":
        cmd += ["-X", "tracemalloc=1"]
    cmd += [os.path.abspath(__file__), "--child", "--tasks", str(tasks)]
    cmd += ["--retention", str(retention)] + (["--sites"] if sites else [])
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the {mode} child failed:\n{done.stderr}")
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    say(f"{mode}: {figures['seconds']:.1f} s")
    return figures


def summarise(runs: dict[str, list[dict[str, Any]]], tasks: int) -> dict[str, Any]:
    def per_task(mode: str, key: str, step: str, since: str) -> float:
        return median((f[step][key] - f[since][key]) / tasks for f in runs[mode])

    def vs_base(mode: str, key: str) -> float:
        return median((f["pruned"][key] - f["base"][key]) / f["base"][key] for f in runs[mode])

    def mib(mode: str, key: str, step: str) -> float:
        return r(median(f[step][key] for f in runs[mode]) / 2**20, 2)

    tm, rs = "tracemalloc", "rss"
    pending = per_task(tm, "traced", "pending", "base")
    waiting = per_task(tm, "traced", "waiting", "base")
    pruned_tm = vs_base(tm, "traced")
    # asyncio's own set of live tasks keeps the room its 100,000 waiters needed: not ours
    asyncio_set = median(
        (
            f["containers_after_prune"]["asyncio.tasks._all_tasks"]
            - f["containers_base"]["asyncio.tasks._all_tasks"]
        )
        / f["base"]["traced"]
        for f in runs[tm]
    )
    pruned_rss = vs_base(rs, "rss")
    first = runs[tm][0]
    return {
        "tasks": tasks,
        "bytes_per_pending_task": {
            "token_binding_future": {
                "traced": r(pending, 1),
                "rss": r(per_task(rs, "rss", "pending", "base"), 1),
            },
            "plus_awaiting_coroutine": {
                "traced": r(waiting, 1),
                "rss": r(per_task(rs, "rss", "waiting", "base"), 1),
            },
        },
        "mib": {
            step: {"traced": mib(tm, "traced", step), "rss": mib(rs, "rss", step)}
            for step in ("base", "pending", "waiting", "completed", "pruned")
        },
        "after_prune_vs_base": {
            "traced": r(pruned_tm, 4),
            "traced_without_asyncio_task_set": r(pruned_tm - asyncio_set, 4),
            "rss": r(pruned_rss, 4),
            "rss_after_malloc_trim": r(
                median(
                    (f["pruned_after_malloc_trim"]["rss"] - f["base"]["rss"]) / f["base"]["rss"]
                    for f in runs[rs]
                ),
                4,
            ),
        },
        "tasks_known": {
            "pending": first["pending_known"],
            "completed": first["completed_known"],
            "pruned": first["pruned_known"],
        },
        "target_bytes_per_task": TARGET_BYTES,
        "target_met": {
            "token_binding_future": pending < TARGET_BYTES,
            "plus_awaiting_coroutine": waiting < TARGET_BYTES,
            "after_prune_within_10pct": {
                "traced": pruned_tm <= TARGET_PRUNED,
                "traced_without_asyncio_task_set": pruned_tm - asyncio_set <= TARGET_PRUNED,
                "rss": pruned_rss <= TARGET_PRUNED,
            },
        },
        "resolved": min(f["resolved"] for fs in runs.values() for f in fs),
        "accepted": min(f["accepted"] for fs in runs.values() for f in fs),
        "sdk_tables_after_prune_bytes": first["containers_after_prune"],
        "sdk_tables_after_prune_len": first["containers_after_prune_len"],
        "top_sites_with_waiter": first.get("top_sites", []),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=1, help="child runs per mode")
    parser.add_argument("--retention", type=float, default=3.0, help="client retention, s")
    parser.add_argument("--quick", action="store_true", help="a few seconds, for a smoke test")
    parser.add_argument(
        "--sites", action="store_true", help="also the top allocation sites (slow: ~30 s more)"
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(child(args.tasks, args.retention, args.sites))))
        return
    if args.quick:
        args.tasks, args.rounds, args.retention = min(args.tasks, 2000), 1, 0.3
    runs: dict[str, list[dict[str, Any]]] = {"tracemalloc": [], "rss": []}
    for _ in range(args.rounds):
        for mode in runs:
            sites = args.sites and mode == "tracemalloc"
            runs[mode].append(run_child(mode, args.tasks, args.retention, sites))
    emit("pending_memory", summarise(runs, args.tasks))


if __name__ == "__main__":
    main()
