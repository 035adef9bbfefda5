"""The callback load generator: a separate process that POSTs pre-rendered callbacks.

Started by the benchmarks (``_common.run_load``), never by hand. Standard library only: a
minimal HTTP/1.1 keep-alive client on ``asyncio.Protocol``, so that one core of this process
can outrun a Python aiohttp server on the other core and the server is what is measured.

    python benchmarks/_loadgen.py JOB.json OUT.json

The job (JSON): ``host``, ``port``, ``template`` (the body, with ``placeholders`` in it),
``requests`` (``[path, [value per placeholder]]`` each), ``mode`` (``"closed"``: each of
``concurrency`` connections sends its next request when the previous one is answered;
``"open"``: requests are released at ``rate`` per second on up to ``concurrency``
connections), ``record`` (write per-request send and answer times), ``timeout`` (seconds).

Protocol with the parent: prints ``ready`` once every connection is open, starts on a ``go``
line on stdin, prints ``done`` when the last answer came (or the timeout), then writes OUT.
Times are ``time.monotonic_ns()`` (CLOCK_MONOTONIC: the same clock in every process).
"""

from __future__ import annotations

import asyncio
import collections
import json
import sys
import time
from typing import Any

HEADERS = (
    "Content-Type: application/json\r\n"
    "Accept: */*\r\n"
    "Accept-Encoding: gzip, deflate\r\n"
    "User-Agent: Python/3.11 aiohttp/3.9.5\r\n"
)


def render(job: dict[str, Any]) -> list[bytes]:
    """Every request as the bytes that go on the wire."""
    template: str = job["template"]
    placeholders: list[str] = job["placeholders"]
    host = f"{job['host']}:{job['port']}"
    out: list[bytes] = []
    for path, values in job["requests"]:
        body = template
        for name, value in zip(placeholders, values, strict=True):
            body = body.replace(name, value)
        data = body.encode()
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {host}\r\n{HEADERS}Content-Length: {len(data)}\r\n\r\n"
        ).encode()
        out.append(head + data)
    return out


class Load:
    """The state of one run: what was sent, what came back, which connections are idle."""

    def __init__(self, requests: list[bytes], mode: str, record: bool) -> None:
        self.requests = requests
        self.mode = mode
        self.count = len(requests)
        self.next = 0
        self.completed = 0
        self.errors = 0
        self.statuses: collections.Counter[int] = collections.Counter()
        self.sent_ns = [0] * self.count if record else []
        self.done_ns = [0] * self.count if record else []
        self.first_ns = 0
        self.last_ns = 0
        self.idle: list[Conn] = []
        self.backlog: collections.deque[int] = collections.deque()
        self.late = 0
        self.finished = asyncio.get_running_loop().create_future()

    def answered(self, conn: Conn, index: int, status: int) -> None:
        now = time.monotonic_ns()
        self.last_ns = now
        if self.done_ns:
            self.done_ns[index] = now
        self.statuses[status] += 1
        self.completed += 1
        self.settle()
        if self.mode == "closed":
            if self.next < self.count:
                conn.send(self.next)
                self.next += 1
        elif self.backlog:
            conn.send(self.backlog.popleft())
        else:
            self.idle.append(conn)

    def failed(self, index: int) -> None:
        self.errors += 1
        self.settle()

    def settle(self) -> None:
        if self.completed + self.errors >= self.count and not self.finished.done():
            self.finished.set_result(None)


class Conn(asyncio.Protocol):
    """One keep-alive connection with at most one request in flight."""

    def __init__(self, load: Load) -> None:
        self.load = load
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.need = -1
        self.status = 0
        self.current = -1

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def send(self, index: int) -> None:
        assert self.transport is not None
        load = self.load
        self.current = index
        now = time.monotonic_ns()
        if load.first_ns == 0:
            load.first_ns = now
        if load.sent_ns:
            load.sent_ns[index] = now
        self.transport.write(load.requests[index])

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        while True:
            if self.need < 0:
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    return
                head = bytes(buf[:end]).lower()
                self.status = int(head[9:12])
                at = head.find(b"\r\ncontent-length:")
                length = 0
                if at >= 0:
                    stop = head.find(b"\r\n", at + 2)
                    length = int(head[at + 17 : stop if stop >= 0 else end])
                self.need = end + 4 + length
            if len(buf) < self.need:
                return
            del buf[: self.need]
            self.need = -1
            index, self.current = self.current, -1
            self.load.answered(self, index, self.status)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.current >= 0:
            self.load.failed(self.current)
            self.current = -1
        if self in self.load.idle:
            self.load.idle.remove(self)


async def release_open_loop(load: Load, rate: float) -> None:
    """Release request i at t0 + i / rate (in bursts at the loop's timer resolution)."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    while load.next < load.count:
        due = min(load.count, int((loop.time() - start) * rate) + 1)
        while load.next < due:
            if load.idle:
                load.idle.pop().send(load.next)
            else:
                load.backlog.append(load.next)
                load.late += 1
            load.next += 1
        await asyncio.sleep(max(0.0, start + load.next / rate - loop.time()))


def read_job(path: str) -> dict[str, Any]:
    with open(path, encoding="utf-8") as f:
        job: dict[str, Any] = json.load(f)
    return job


def write_result(path: str, result: dict[str, Any]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(result, f)


async def main(job_path: str, out_path: str) -> None:
    job = read_job(job_path)
    loop = asyncio.get_running_loop()
    mode: str = job.get("mode", "closed")
    requests = render(job)
    load = Load(requests, mode, bool(job.get("record")))
    concurrency = max(1, min(int(job.get("concurrency", 32)), len(requests)))
    conns: list[Conn] = []
    for _ in range(concurrency):
        _, proto = await loop.create_connection(lambda: Conn(load), job["host"], job["port"])
        conns.append(proto)
    print("ready", flush=True)
    await loop.run_in_executor(None, sys.stdin.readline)
    cpu0 = time.process_time()
    wall0 = time.monotonic_ns()
    if mode == "closed":
        for conn in conns:
            if load.next < load.count:
                conn.send(load.next)
                load.next += 1
        releaser = None
    else:
        load.idle = list(conns)
        releaser = loop.create_task(release_open_loop(load, float(job["rate"])))
    timed_out = False
    try:
        await asyncio.wait_for(asyncio.shield(load.finished), float(job.get("timeout", 120)))
    except TimeoutError:
        timed_out = True
    cpu = time.process_time() - cpu0
    print("done", flush=True)
    if releaser is not None:
        releaser.cancel()
    for conn in conns:
        if conn.transport is not None:
            conn.transport.close()
    seconds = max(load.last_ns - (load.first_ns or wall0), 1) / 1e9
    result = {
        "requests": load.count,
        "completed": load.completed,
        "errors": load.errors,
        "timed_out": timed_out,
        "statuses": {str(k): v for k, v in sorted(load.statuses.items())},
        "seconds": seconds,
        "rate": load.completed / seconds,
        "cpu_seconds": cpu,
        "late": load.late,
        "sent_ns": load.sent_ns,
        "done_ns": load.done_ns,
    }
    write_result(out_path, result)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
