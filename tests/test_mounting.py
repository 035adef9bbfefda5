"""The receiver mounted in the user's own app: aiohttp routes, and an ASGI app under uvicorn."""

from __future__ import annotations

import asyncio
import hashlib
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import uvicorn
from _helpers import complete_body, post
from _redis_server import free_port
from aiohttp import web
from fastapi import FastAPI

from anyint_music import AnyIntMusic, ConfigurationError, Model
from anyint_music.testing import FakeGateway


def _mounted_client(gateway: FakeGateway, public_url: str, **options: Any) -> AnyIntMusic:
    """A client of ``gateway`` without a receiver of its own: the test mounts its callbacks."""
    return AnyIntMusic(
        api_key=gateway.api_key,
        base_url=gateway.url,
        receiver=False,
        public_url=public_url,
        **options,
    )


def test_mounting_needs_a_public_url() -> None:
    with pytest.raises(ConfigurationError, match="public_url is required"):
        AnyIntMusic(api_key="k", receiver=False)


async def test_callback_routes_in_an_existing_aiohttp_app(anyint_gateway: FakeGateway) -> None:
    async def hello(_: web.Request) -> web.Response:
        return web.Response(text="the app's own page")

    port = free_port()
    async with _mounted_client(anyint_gateway, f"http://127.0.0.1:{port}") as client:
        app = web.Application()
        app.router.add_get("/", hello)
        app.add_routes(client.callback_routes())
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        try:
            song = await client.generate(prompt="through the app", model=Model.V5, timeout=10)
            async with (
                aiohttp.ClientSession() as session,
                session.get(f"http://127.0.0.1:{port}/") as r,
            ):
                assert await r.text() == "the app's own page"
        finally:
            await runner.cleanup()
    assert len(song.tracks) == 2
    assert {c.status for c in anyint_gateway.callbacks} == {200}


async def test_mounted_routes_read_a_body_a_middleware_read_first_and_keep_the_apps_limit(
    anyint_gateway: FakeGateway,
) -> None:
    anyint_gateway.drop_callbacks = True
    seen: list[int] = []

    @web.middleware
    async def audit(request: web.Request, handler: Any) -> web.StreamResponse:
        if "X-Audit" in request.headers:
            seen.append(len(await request.read()))  # the body is read before the route runs
        response = await handler(request)
        if "X-Audit" in request.headers:
            seen.append(len(await request.read()))  # and again after it, still all there
        return response

    port = free_port()
    async with _mounted_client(anyint_gateway, f"http://127.0.0.1:{port}") as client:
        app = web.Application(middlewares=[audit], client_max_size=4000)
        app.add_routes(client.callback_routes())
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        try:
            task = await client.submit_generate("audited", model=Model.V5)
            token = anyint_gateway.requests[-1].json["callBackUrl"].rsplit("/", 1)[1]
            cb = f"http://127.0.0.1:{port}/anyint/callbacks/{token}"
            body = complete_body(task.id)
            padded = {**body, "padding": "x" * 5000}  # within our cap, beyond the app's
            assert (await post(cb, padded))[0] == 413
            assert not task.done()
            assert (await post(cb, body, headers={"X-Audit": "1"}))[0] == 200
            assert len((await task.wait(timeout=5)).tracks) == 2
        finally:
            await runner.cleanup()
    assert len(seen) == 2
    assert seen[0] == seen[1] > 0


class _Uvicorn:
    """A real uvicorn server in this event loop, on a free port."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        self.server = uvicorn.Server(
            uvicorn.Config(
                app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on"
            )
        )
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> str:
        self.task = asyncio.ensure_future(self.server.serve())
        async with asyncio.timeout(10):
            while not self.server.started:  # noqa: ASYNC110 - uvicorn offers no event for it
                await asyncio.sleep(0.01)
        return f"http://127.0.0.1:{self.port}"

    async def __aexit__(self, *_: object) -> None:
        self.server.should_exit = True
        assert self.task is not None
        await self.task


@pytest.fixture
async def asgi_client(anyint_gateway: FakeGateway) -> AsyncIterator[tuple[AnyIntMusic, str]]:
    port = free_port()
    async with _mounted_client(anyint_gateway, f"http://127.0.0.1:{port}") as client:
        yield client, f"http://127.0.0.1:{port}"


async def test_asgi_app_mounted_in_fastapi(anyint_gateway: FakeGateway) -> None:
    fastapi_app = FastAPI()

    @fastapi_app.get("/health")
    async def health() -> dict[str, str]:
        return {"ok": "yes"}

    async with _mounted_client(anyint_gateway, "http://placeholder.invalid") as client:
        fastapi_app.mount("/anyint/callbacks", client.asgi_app())
        server = _Uvicorn(fastapi_app)
        anyint_gateway.receivers = [f"http://127.0.0.1:{server.port}"]
        async with server as url:
            song = await client.generate(prompt="through fastapi", model=Model.V5, timeout=10)
            lyrics = await client.generate_lyrics("through fastapi too", timeout=10)
            assert (await post(url + "/anyint/callbacks/unknown-token", {"code": 200}))[0] == 404
            async with aiohttp.ClientSession() as session, session.get(url + "/health") as r:
                assert await r.json() == {"ok": "yes"}
    assert len(song.tracks) == 2
    assert lyrics.variants


async def test_asgi_app_served_alone_answers_like_the_embedded_receiver(
    anyint_gateway: FakeGateway,
) -> None:
    anyint_gateway.drop_callbacks = True
    async with _mounted_client(
        anyint_gateway, "http://placeholder.invalid", max_callback_bytes=2000
    ) as client:
        task = await client.submit_generate("by hand", model=Model.V5)
        token = anyint_gateway.requests[-1].json["callBackUrl"].rsplit("/", 1)[1]
        async with _Uvicorn(client.asgi_app()) as url:
            cb = f"{url}/anyint/callbacks/{token}"
            assert (await post(cb, method="GET"))[0] == 405
            assert (await post(cb, data=b"{not json"))[0] == 400
            assert (await post(cb, data=b"x" * 5000))[0] == 413
            assert (await post(f"{url}/elsewhere", {}))[0] == 404
            body = complete_body(task.id)
            assert (await post(cb, body))[0] == 200
            assert len((await task.wait(timeout=5)).tracks) == 2


async def test_the_aiohttp_example_app_makes_a_song(
    anyint_gateway: FakeGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))
    try:
        import aiohttp_app
    finally:
        sys.path.pop(0)
    monkeypatch.setenv("ANYINT_API_KEY", anyint_gateway.api_key)
    monkeypatch.setenv("ANYINT_BASE_URL", anyint_gateway.url)
    port = free_port()
    runner = web.AppRunner(aiohttp_app.build_app(f"http://127.0.0.1:{port}"))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{port}/song", params={"prompt": "sea shanty"}) as resp,
        ):
            answer = await resp.json()
    finally:
        await runner.cleanup()
    assert resp.status == 200
    assert len(answer["audio"]) == 2
    assert anyint_gateway.task(answer["task_id"]).request["prompt"] == "sea shanty"


async def test_asgi_app_serves_a_local_upload_file_to_the_service(
    anyint_gateway: FakeGateway, tmp_path: Path
) -> None:
    take = tmp_path / "take.wav"
    take.write_bytes(b"RIFF" + bytes(range(256)) * 64)
    fastapi_app = FastAPI()
    server = _Uvicorn(fastapi_app)
    async with _mounted_client(anyint_gateway, f"http://127.0.0.1:{server.port}") as client:
        fastapi_app.mount("/anyint/callbacks", client.asgi_app())
        async with server:
            song = await client.add_instrumental(
                take, title="Under", tags="strings", negative_tags="drums", timeout=20
            )
            url = anyint_gateway.task(song.task_id).request["uploadUrl"]
            async with aiohttp.ClientSession() as session, session.get(url) as after:
                assert after.status == 404  # withdrawn once the task ended
    assert song.tracks
    fetched = anyint_gateway.uploads
    assert [u.status for u in fetched] == [200]
    assert fetched[0].sha256 == hashlib.sha256(take.read_bytes()).hexdigest()
    assert fetched[0].content_type in ("audio/wav", "audio/x-wav")
