"""A long-lived worker: one prompt per line on stdin, one result per line on stdout.

Tasks are kept in a SQLite file, so a worker stopped (or killed) mid-task takes its unfinished
tasks over when it starts again. SIGTERM or Ctrl-C stops it cleanly: the receiver stops
accepting, callbacks already arriving are finished and stored, and the remaining waits end
(they resume on the next start).

    ANYINT_API_KEY=... ANYINT_PUBLIC_URL=https://hooks.example.com \\
        python examples/worker.py --store tasks.db --port 8080 < prompts.txt
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from typing import Any

from anyint_music import AnyIntError, AnyIntMusic, Model, ReceiverClosedError, Task
from anyint_music.stores import SQLiteStore


async def report(task: Task[Any]) -> None:
    try:
        result = await task
    except ReceiverClosedError:
        return  # stopping: the task stays in the store and resumes on the next start
    except AnyIntError as exc:
        print(f"failed {task.id}: {exc}", flush=True)
        return
    urls = [track.audio_url for track in getattr(result, "tracks", ())]
    print(f"done {task.id}: {' '.join(urls)}", flush=True)


async def read_prompts(queue: asyncio.Queue[str | None]) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        if prompt := line.decode().strip():
            await queue.put(prompt)
    await queue.put(None)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", default="anyint-tasks.db", help="SQLite file for tasks")
    parser.add_argument("--port", type=int, default=0, help="callback port (fixed in production)")
    args = parser.parse_args()

    if not os.environ.get("ANYINT_API_KEY"):
        sys.exit("set ANYINT_API_KEY (and ANYINT_PUBLIC_URL) to run the worker")

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    async with AnyIntMusic(store=SQLiteStore(args.store), callback_port=args.port) as client:
        reporters = {asyncio.ensure_future(report(t)) for t in await client.pending()}
        if reporters:
            print(f"resumed {len(reporters)} unfinished task(s)", flush=True)
        prompts: asyncio.Queue[str | None] = asyncio.Queue()
        reader = asyncio.ensure_future(read_prompts(prompts))
        stopping: asyncio.Future[Any] = asyncio.ensure_future(stop.wait())
        while not stop.is_set():
            next_prompt: asyncio.Future[Any] = asyncio.ensure_future(prompts.get())
            await asyncio.wait({next_prompt, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if not next_prompt.done():
                next_prompt.cancel()
                break
            prompt = next_prompt.result()
            if prompt is None:  # end of input: wait for what is running, unless stopped first
                everything: asyncio.Future[Any] = asyncio.gather(*reporters)
                await asyncio.wait({stopping, everything}, return_when=asyncio.FIRST_COMPLETED)
                break
            try:
                task = await client.submit_generate(prompt, model=Model.V5)
            except AnyIntError as exc:
                print(f"refused {prompt!r}: {exc}", flush=True)
                continue
            print(f"submitted {task.id}", flush=True)
            reporters.add(asyncio.ensure_future(report(task)))
        print("shutting down: unfinished tasks resume on the next start", flush=True)
        reader.cancel()
        stopping.cancel()
    await asyncio.gather(*reporters, reader, stopping, return_exceptions=True)


if __name__ == "__main__":
    asyncio.run(main())
