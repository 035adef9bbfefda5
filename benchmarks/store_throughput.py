"""Store throughput: callbacks recorded and resolved per second with each task store, under
the same callback load from a separate process. Prints one JSON line.

    python benchmarks/store_throughput.py [--callbacks 4000] [--rounds 3] [--quick]
        [--stores memory,sqlite,redis] [--redis-url URL]

Each round, for each store in turn (the order rotates): a client with that store and its
embedded receiver; ``--callbacks`` tokens minted and bound through the registry (which writes
them to the store, before the clock starts); one coroutine awaiting each task; then one
realistic 2-track ``complete`` callback per task from the load process (closed loop,
``--concurrency`` connections). Every accepted callback is written to the store before it is
answered (``add_event``), so the figure is the store's cost on the hot path.

- ``memory``: ``MemoryStore()``, the default;
- ``sqlite``: ``SQLiteStore(path)``, a fresh file in a temporary directory per round;
- ``redis``: ``RedisStore(url)`` against ``--redis-url``, or else a private ``redis-server``
  (no persistence) started on a free 127.0.0.1 port when one is installed; skipped, with the
  reason in the output, when neither the ``redis`` package nor a server is available.

A new store is one entry in ``STORES``: a name and an async context manager that yields a
ready-to-use ``TaskStore`` (or raises ``Unavailable`` with the reason).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import (
    Waiters,
    bench_client,
    body_bytes,
    emit,
    free_port,
    median,
    mint_registry,
    port_of,
    r,
    run_load,
    say,
)

from anyint_music.stores import MemoryStore, SQLiteStore, TaskStore

TARGET_SQLITE_RATIO = 0.5


class Unavailable(Exception):
    """This store cannot be benchmarked here (the reason is reported)."""


StoreFactory = Callable[
    [argparse.Namespace, int], contextlib.AbstractAsyncContextManager[TaskStore]
]


@contextlib.asynccontextmanager
async def memory_store(args: argparse.Namespace, round_no: int) -> AsyncIterator[TaskStore]:
    yield MemoryStore()


@contextlib.asynccontextmanager
async def sqlite_store(args: argparse.Namespace, round_no: int) -> AsyncIterator[TaskStore]:
    with tempfile.TemporaryDirectory(prefix="anyint-bench-sqlite-") as tmp:
        yield SQLiteStore(Path(tmp) / "tasks.db")


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """A private redis-server without persistence on a free port; yields its URL."""
    exe = shutil.which("redis-server")
    if exe is None:
        raise Unavailable("redis-server is not installed and --redis-url was not given")
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="anyint-bench-redis-") as tmp:
        cmd = [exe, "--port", str(port), "--bind", "127.0.0.1", "--dir", tmp, "--save", ""]
        cmd += ["--appendonly", "no"]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=0.2) as sock:
                        sock.sendall(b"PING\r\n")
                        if sock.recv(16).startswith(b"+PONG"):
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise Unavailable("redis-server did not start within 10 s")
                time.sleep(0.02)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@contextlib.asynccontextmanager
async def redis_store(args: argparse.Namespace, round_no: int) -> AsyncIterator[TaskStore]:
    try:
        from anyint_music.stores import RedisStore
    except ImportError as exc:
        raise Unavailable(f"the redis package is not installed ({exc})") from None
    if args.redis_url is None:
        raise Unavailable("no Redis (started once per run by run())")
    yield RedisStore(args.redis_url, worker_id="bench", prefix=f"anyint-bench:{round_no}:")


# The extension point: name -> factory of a ready-to-use store.
STORES: dict[str, StoreFactory] = {
    "memory": memory_store,
    "sqlite": sqlite_store,
    "redis": redis_store,
}


async def store_round(
    name: str, args: argparse.Namespace, round_no: int, count: int
) -> dict[str, float]:
    async with STORES[name](args, round_no) as store:
        client = bench_client(store=store)
        async with client:
            targets = await mint_registry(client, count, f"{name}-{round_no}")
            waiters = Waiters()
            waiters.await_sdk(client, targets)
            await asyncio.sleep(0)
            gc.collect()
            load = await run_load(port_of(client.public_url), targets, concurrency=args.concurrency)
            await waiters.join(timeout=60)
    return {
        "rate": load.rate,
        "cpu_us": load.server_cpu_seconds / max(load.completed, 1) * 1e6,
        "server_cpu": load.server_cpu,
        "errors": load.errors + (load.completed - load.ok) + int(load.timed_out),
        "resolved": waiters.ok,
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    names = [n.strip() for n in args.stores.split(",") if n.strip()]
    skipped: dict[str, str] = {}
    with contextlib.ExitStack() as stack:
        if "redis" in names and args.redis_url is None:
            try:
                import redis  # noqa: F401

                args.redis_url = stack.enter_context(redis_server())
            except ImportError as exc:
                skipped["redis"] = f"the redis package is not installed ({exc})"
            except Unavailable as exc:
                skipped["redis"] = str(exc)
        names = [n for n in names if n not in skipped]
        rounds: list[dict[str, dict[str, float]]] = []
        warm = min(500, args.callbacks)
        for name in list(names):
            try:
                await store_round(name, args, -1, warm)
            except Unavailable as exc:
                skipped[name] = str(exc)
                names.remove(name)
        for k in range(args.rounds):
            order = names[k % len(names) :] + names[: k % len(names)]
            figures = {name: await store_round(name, args, k, args.callbacks) for name in order}
            say(
                f"round {k + 1}/{args.rounds}: "
                + ", ".join(f"{n} {f['rate']:.0f}/s" for n, f in figures.items())
            )
            rounds.append(figures)

    def col(name: str, key: str) -> list[float]:
        return [rd[name][key] for rd in rounds]

    out: dict[str, Any] = {
        "callbacks_per_round": args.callbacks,
        "rounds": args.rounds,
        "concurrency": args.concurrency,
        "body_bytes": body_bytes(),
        "callbacks_per_s": {n: r(median(col(n, "rate")), 1) for n in names},
        "server_cpu_us_per_callback": {n: r(median(col(n, "cpu_us")), 1) for n in names},
        "server_cpu_per_wall_s": {n: r(median(col(n, "server_cpu")), 2) for n in names},
    }
    ratios: dict[str, float] = {}
    if "memory" in names:
        for n in names:
            if n != "memory":
                per_round = [
                    s / m for s, m in zip(col(n, "rate"), col("memory", "rate"), strict=True)
                ]
                ratios[f"{n}_to_memory"] = r(median(per_round))
    out["ratio"] = ratios
    out["target_sqlite_to_memory"] = TARGET_SQLITE_RATIO
    out["target_met"] = (
        ratios["sqlite_to_memory"] >= TARGET_SQLITE_RATIO if "sqlite_to_memory" in ratios else None
    )
    out["skipped"] = skipped
    out["errors"] = int(sum(sum(col(n, "errors")) for n in names))
    out["unresolved"] = int(sum(args.callbacks - v for n in names for v in col(n, "resolved")))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--callbacks", type=int, default=4000, help="callbacks per store, round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=32, help="connections in flight")
    parser.add_argument("--stores", default=",".join(STORES), help="comma-separated names")
    parser.add_argument("--redis-url", default=None, help="an existing Redis to use")
    parser.add_argument("--quick", action="store_true", help="a few seconds, for a smoke test")
    args = parser.parse_args()
    if args.quick:
        args.callbacks, args.rounds = min(args.callbacks, 500), 1
    emit("store_throughput", asyncio.run(run(args)))


if __name__ == "__main__":
    main()
