"""Helpers shared by the FakeGateway tests that speak plain HTTP to it, without the SDK."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, Self

import aiohttp
from aiohttp import web

from anyint_music.testing._gateway import FakeGateway


class Receiver:
    """A callback receiver on a free local port: records every body in arrival order.

    It answers 200 unless ``answers`` holds statuses for the next requests. ``delay`` holds
    back each answer for that many seconds; with ``delay_count`` set, only the next that many.
    Use it as ``async with Receiver() as rec`` (or ``start`` and ``close`` it by hand).
    """

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.answers: list[int] = []  # statuses for the next requests, then 200
        self.delay = 0.0
        self.delay_count: int | None = None  # None: hold back every answer
        self.base = ""
        self._runner: web.AppRunner | None = None
        self._arrived = asyncio.Condition()
        self._closing = asyncio.Event()

    def url(self, token: str = "t") -> str:
        return f"{self.base}/cb/{token}"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/cb/{token}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        port = self._runner.addresses[0][1]
        self.base = f"http://127.0.0.1:{port}"

    async def close(self) -> None:
        assert self._runner is not None
        self._closing.set()  # lets a handler that is holding its answer finish at once
        await self._runner.cleanup()
        self._closing.clear()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    def record(self, body: dict[str, Any]) -> None:
        """Keep one callback body; subclasses may note more about it."""
        self.bodies.append(body)

    async def _handle(self, request: web.Request) -> web.Response:
        self.record(await request.json())
        async with self._arrived:
            self._arrived.notify_all()
        if self.delay and self.delay_count != 0:
            if self.delay_count is not None:
                self.delay_count -= 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), self.delay)
        status = self.answers.pop(0) if self.answers else 200
        return web.json_response({"status": "received"}, status=status)

    async def wait_for(self, count: int, timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout), self._arrived:
            await self._arrived.wait_for(lambda: len(self.bodies) >= count)


async def call_with_headers(
    http: aiohttp.ClientSession,
    gw: FakeGateway,
    path: str,
    body: Any = None,
    *,
    method: str = "POST",
    key: str | None = None,
    params: dict[str, str] | None = None,
    data: bytes | None = None,
    timeout: float | None = None,
) -> tuple[int, Any, dict[str, str]]:
    """Send one request to the gateway as a client would; return status, JSON body and headers.

    ``key`` replaces the gateway's API key; ``timeout`` bounds the whole request in seconds.
    """
    headers = {"Authorization": f"Bearer {gw.api_key if key is None else key}"}
    async with http.request(
        method,
        gw.url + path,
        json=body,
        data=data,
        headers=headers,
        params=params,
        timeout=http.timeout if timeout is None else aiohttp.ClientTimeout(total=timeout),
    ) as resp:
        return resp.status, await resp.json(content_type=None), dict(resp.headers)


async def call(
    http: aiohttp.ClientSession, gw: FakeGateway, path: str, body: Any = None, **options: Any
) -> tuple[int, Any]:
    """Like ``call_with_headers``, for when the headers do not matter: status and JSON body."""
    status, answer, _ = await call_with_headers(http, gw, path, body, **options)
    return status, answer


async def submit(
    http: aiohttp.ClientSession, gw: FakeGateway, rec: Receiver, path: str, body: dict[str, Any]
) -> str:
    """Submit ``body`` to ``path`` with ``rec`` as the callback URL; return the new task id."""
    status, answer = await call(http, gw, path, {**body, "callBackUrl": rec.url()})
    assert (status, answer["code"]) == (200, 200), answer
    task_id = answer["data"]["taskId"]
    assert isinstance(task_id, str)
    return task_id
