"""A ``FakeGateway`` in a process of its own, so that a benchmark's client process measures
only the client's side. Started by the benchmarks, never by hand.

    python benchmarks/_gateway_proc.py [--drop-callbacks] [--max-seconds 900]

Prints the gateway's URL on one line, then serves until stdin closes (or ``--max-seconds``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from anyint_music.testing import FakeGateway


async def serve(drop_callbacks: bool, max_seconds: float) -> None:
    async with FakeGateway(drop_callbacks=drop_callbacks, record=False) as gw:
        print(gw.url, flush=True)
        loop = asyncio.get_running_loop()
        stdin_closed = loop.run_in_executor(None, sys.stdin.read)
        try:
            await asyncio.wait_for(stdin_closed, max_seconds)
        except TimeoutError:
            await gw.close()
            os._exit(0)  # the thread blocked on stdin would hold the interpreter open


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--drop-callbacks", action="store_true")
    parser.add_argument("--max-seconds", type=float, default=900.0)
    args = parser.parse_args()
    asyncio.run(serve(args.drop_callbacks, args.max_seconds))


if __name__ == "__main__":
    main()
