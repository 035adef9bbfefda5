"""Slow senders (slowloris) cannot lock the service's callbacks out of the embedded receiver:
connections that never finish a request are closed after ``read_timeout``, and at the cap on
open connections a new one closes the one that has waited longest without a request.

Run as a script, this file is the receiver side of the file-descriptor test: a real client,
with its embedded receiver, in a process limited to 1,024 open files.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, suppress
from pathlib import Path
from typing import Any

import pytest
from _helpers import callback_url, complete_body
from yarl import URL

import anyint_music
from anyint_music import AnyIntMusic, Model
from anyint_music._callbacks import CallbackHandler
from anyint_music._receiver import CallbackReceiver
from anyint_music._registry import TaskRegistry
from anyint_music.stores import MemoryStore
from anyint_music.testing import FakeGateway

CHILD_NOFILE = 1024  # as under `ulimit -n 1024`
SLOW = 1_100  # more slow connections than the receiver's process may have files open
PARTIAL_HEAD = b"POST /anyint/callbacks/slow HTTP/1.1\r\nHost: 127.0.0.1\r\n"  # never finished


def _limit_files() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (CHILD_NOFILE, CHILD_NOFILE))


async def _serve(base_url: str, api_key: str) -> None:
    """The receiver's process: submit one task, report its id, wait for its result."""
    async with AnyIntMusic(api_key=api_key, base_url=base_url, poll_interval=None) as client:
        task = await client.submit_generate("through the crowd", model=Model.V5)
        nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        print(json.dumps({"task_id": task.id, "nofile": nofile}), flush=True)
        song = await task.wait(timeout=60)
        print(json.dumps({"tracks": len(song.tracks)}), flush=True)


async def _open_slow(host: str, port: int, count: int, into: list[socket.socket]) -> None:
    """Open ``count`` connections that each send part of a request head and then nothing."""
    loop = asyncio.get_running_loop()

    async def one() -> None:
        sock = socket.socket()
        into.append(sock)  # closed by the caller, whatever happens here
        sock.setblocking(False)
        await loop.sock_connect(sock, (host, port))
        await loop.sock_sendall(sock, PARTIAL_HEAD)

    for start in range(0, count, 100):  # in batches, so as not to overflow the listen backlog
        await asyncio.gather(*(one() for _ in range(min(100, count - start))))


async def _deliver(url: URL, body: bytes) -> tuple[int, float]:
    """POST ``body`` to ``url`` on a new connection; the answer's status and the seconds from
    connecting to reading it."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    reader, writer = await asyncio.open_connection(url.host, url.port)
    try:
        writer.write(
            b"POST " + url.raw_path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nConnection: close\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
        )
        status_line = await reader.readline()
        return int(status_line.split()[1]), loop.time() - started
    finally:
        writer.close()
        with suppress(ConnectionError):
            await writer.wait_closed()


@pytest.fixture
def enough_files() -> Iterator[None]:
    """Room in this (the attacking) process for the slow connections."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = SLOW + 512
    if soft == resource.RLIM_INFINITY or soft >= needed:
        yield
        return
    if hard != resource.RLIM_INFINITY and hard < needed:
        pytest.skip(f"this process may open only {hard} files; the test needs {needed}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


async def test_a_callback_is_answered_within_2_s_through_1100_slow_connections(
    quiet_gateway: FakeGateway, enough_files: None
) -> None:
    # The child imports the very package under test, wherever this run took it from.
    package_root = str(Path(anyint_music.__file__).resolve().parent.parent)
    path = os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        quiet_gateway.url,
        quiet_gateway.api_key,
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": path},
        preexec_fn=_limit_files,
    )
    assert child.stdout is not None
    slow: list[socket.socket] = []
    try:
        async with asyncio.timeout(15):
            ready = json.loads(await child.stdout.readline())
        assert ready["nofile"] == CHILD_NOFILE
        url = URL(callback_url(quiet_gateway))
        assert url.host == "127.0.0.1"
        async with asyncio.timeout(15):
            await _open_slow(url.host, url.port or 0, SLOW, slow)
        body = json.dumps(complete_body(ready["task_id"])).encode()
        try:
            async with asyncio.timeout(5):
                status, seconds = await _deliver(url, body)
        except TimeoutError:
            pytest.fail("the callback got no answer within 5 s")
        assert status == 200
        assert seconds < 2.0  # the requirement
        async with asyncio.timeout(10):
            assert json.loads(await child.stdout.readline()) == {"tracks": 2}
    finally:
        for sock in slow:
            sock.close()
        if child.returncode is None:
            child.kill()
        await child.wait()


# --- the same defences in this process, on a receiver of their own ---

Start = Callable[..., Awaitable[URL]]
Connect = Callable[[URL, bytes], Awaitable[asyncio.StreamReader]]


@pytest.fixture
async def receiver() -> AsyncIterator[Start]:
    """Starts a receiver with the given options; its base URL. Stops them all afterwards."""
    async with AsyncExitStack() as stack:

        async def start(**options: Any) -> URL:
            handler = CallbackHandler(TaskRegistry(MemoryStore()))
            made = CallbackReceiver(handler, host="127.0.0.1", port=0, **options)
            url = URL(await made.start())
            stack.push_async_callback(made.stop)
            return url

        yield start


@pytest.fixture
async def connect() -> AsyncIterator[Connect]:
    """Opens a connection and sends ``data`` on it; closes them all afterwards."""
    writers: list[asyncio.StreamWriter] = []

    async def open_one(url: URL, data: bytes) -> asyncio.StreamReader:
        reader, writer = await asyncio.open_connection(url.host, url.port)
        writers.append(writer)
        writer.write(data)
        await writer.drain()
        return reader

    yield open_one
    for writer in writers:
        writer.close()
        with suppress(ConnectionError):
            await writer.wait_closed()


async def _closed_by_server(reader: asyncio.StreamReader) -> bool:
    """Whether the server closes the connection without an answer (waiting up to 10 s)."""
    async with asyncio.timeout(10):
        return await reader.read() == b""


async def test_a_request_head_not_finished_in_read_timeout_is_closed(
    receiver: Start, connect: Connect
) -> None:
    url = await receiver(read_timeout=0.2)
    assert await _closed_by_server(await connect(url, PARTIAL_HEAD))


async def test_a_body_not_finished_in_read_timeout_is_408(
    receiver: Start, connect: Connect
) -> None:
    url = await receiver(read_timeout=0.2)
    reader = await connect(url, PARTIAL_HEAD + b"Content-Length: 100\r\n\r\n{")
    async with asyncio.timeout(10):
        assert (await reader.readline()).split()[1] == b"408"


async def test_at_the_cap_a_new_connection_closes_the_oldest_waiting_one(
    receiver: Start, connect: Connect
) -> None:
    url = await receiver(max_connections=3)
    waiting = [await connect(url, PARTIAL_HEAD) for _ in range(3)]
    status, _ = await _deliver(url / "anyint" / "callbacks" / "unknown", b"{}")
    assert status == 404  # the fourth connection is served...
    assert await _closed_by_server(waiting[0])  # ...and the oldest waiting one made room


if __name__ == "__main__":
    asyncio.run(_serve(sys.argv[1], sys.argv[2]))
