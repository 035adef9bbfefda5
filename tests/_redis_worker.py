"""A worker process for the multi-worker tests: shares one Redis with its peers, submits tasks,
prints their ids, then prints each result as it arrives."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from anyint_music import AnyIntMusic, Model, Task
from anyint_music.stores import RedisStore


def emit(*parts: str) -> None:
    sys.stdout.write(" ".join(parts) + "\n")
    sys.stdout.flush()


async def main() -> None:
    parser = argparse.ArgumentParser()
    for name in ("--gateway", "--key", "--redis", "--prefix", "--worker"):
        parser.add_argument(name, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--count", type=int, required=True)
    args = parser.parse_args()
    store = RedisStore(args.redis, worker_id=args.worker, prefix=args.prefix)
    async with AnyIntMusic(
        api_key=args.key,
        base_url=args.gateway,
        store=store,
        callback_port=args.port,
        public_url=f"http://127.0.0.1:{args.port}",
        poll_interval=5.0,
        timeout=120,
    ) as client:
        tasks: list[Task[object]] = []
        for i in range(args.count):
            task = await client.submit_generate(f"{args.worker} song {i}", model=Model.V5)
            tasks.append(task)
            emit("id", task.id)
        emit("submitted")

        async def report(task: Task[object]) -> None:
            song = await task
            emit("result", task.id, json.dumps([t.id for t in getattr(song, "tracks", ())]))

        await asyncio.gather(*(report(t) for t in tasks))
        emit("done")


if __name__ == "__main__":
    asyncio.run(main())
