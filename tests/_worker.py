"""A worker process for the restart tests: submits tasks with a SQLiteStore, prints their ids,
then waits for them. The test kills it with SIGKILL at a moment of its choosing."""

from __future__ import annotations

import argparse
import asyncio
import sys

from anyint_music import AnyIntMusic, Model
from anyint_music.stores import SQLiteStore


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--gateway", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--store", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--count", type=int, required=True)
    args = parser.parse_args()
    async with AnyIntMusic(
        api_key=args.key,
        base_url=args.gateway,
        store=SQLiteStore(args.store),
        callback_port=args.port,
        public_url=f"http://127.0.0.1:{args.port}",
        poll_interval=None,
    ) as client:
        tasks = []
        for i in range(args.count):
            task = await client.submit_generate(f"restart song {i}", model=Model.V5)
            tasks.append(task)
            sys.stdout.write(task.id + "\n")
            sys.stdout.flush()
        await asyncio.gather(*(t.wait() for t in tasks))
        sys.stdout.write("done\n")
        sys.stdout.flush()


if __name__ == "__main__":
    asyncio.run(main())
