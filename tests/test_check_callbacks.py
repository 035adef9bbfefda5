"""Is my receiver reachable? check_callbacks() probes this client's own receiver through
public_url and names the cause and the fix when the probe does not arrive."""

from __future__ import annotations

import logging
import socket
import ssl

import pytest
import trustme
from _redis_server import free_port
from aiohttp import web
from fastapi import FastAPI
from test_mounting import _Uvicorn

from anyint_music import AnyIntMusic, CallbackUnreachableError, Model
from anyint_music.testing import FakeGateway


def _client(gw: FakeGateway, **options: object) -> AnyIntMusic:
    return AnyIntMusic(api_key=gw.api_key, base_url=gw.url, **options)  # type: ignore[arg-type]


async def test_the_embedded_receiver_answers_its_probe_and_no_task_is_touched(
    anyint_gateway: FakeGateway,
) -> None:
    async with _client(anyint_gateway) as client:
        await client.check_callbacks()
        assert client.stats().callbacks == 0
        assert client.stats().pending == 0
        song = await client.generate("still fine", model=Model.V5)
    assert song.tracks


async def test_a_refused_connection_names_the_tunnel_or_firewall(
    anyint_gateway: FakeGateway,
) -> None:
    closed = free_port()  # nothing listens there
    async with _client(anyint_gateway, public_url=f"http://127.0.0.1:{closed}") as client:
        with pytest.raises(CallbackUnreachableError, match="could not connect") as refused:
            await client.check_callbacks(timeout=5)
    assert "tunnel" in str(refused.value)
    assert f"127.0.0.1:{closed}" in refused.value.url


async def test_a_silent_port_times_out_with_a_clear_cause(anyint_gateway: FakeGateway) -> None:
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)  # accepts, never answers
    try:
        port = silent.getsockname()[1]
        async with _client(anyint_gateway, public_url=f"http://127.0.0.1:{port}") as client:
            with pytest.raises(CallbackUnreachableError, match="no answer"):
                await client.check_callbacks(timeout=0.5)
    finally:
        silent.close()


async def test_a_receiver_mounted_under_another_prefix_is_a_404_with_the_mount_line(
    anyint_gateway: FakeGateway, caplog: pytest.LogCaptureFixture
) -> None:
    app = FastAPI()
    server = _Uvicorn(app)
    async with _client(
        anyint_gateway, receiver=False, public_url=f"http://127.0.0.1:{server.port}"
    ) as client:
        app.mount("/hooks", client.asgi_app())  # the wrong prefix
        async with server:
            with pytest.raises(CallbackUnreachableError, match="404") as wrong:
                await client.check_callbacks()
    assert "app.mount('/anyint/callbacks', client.asgi_app())" in str(wrong.value)


async def test_a_receiver_mounted_right_answers_in_fastapi_and_aiohttp(
    anyint_gateway: FakeGateway,
) -> None:
    app = FastAPI()
    server = _Uvicorn(app)
    async with _client(
        anyint_gateway, receiver=False, public_url=f"http://127.0.0.1:{server.port}"
    ) as client:
        app.mount("/anyint/callbacks", client.asgi_app())
        async with server:
            await client.check_callbacks()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    aio = web.Application()
    async with _client(
        anyint_gateway,
        receiver=False,
        public_url=f"http://127.0.0.1:{listener.getsockname()[1]}",
    ) as client:
        aio.add_routes(client.callback_routes())
        runner = web.AppRunner(aio)
        await runner.setup()
        await web.SockSite(runner, listener).start()
        try:
            await client.check_callbacks()
        finally:
            await runner.cleanup()


async def test_another_program_at_public_url_is_named_as_such(
    anyint_gateway: FakeGateway,
) -> None:
    async def anything(_: web.Request) -> web.Response:
        return web.json_response({"probe": "looks like one"})

    impostor = web.Application()
    impostor.router.add_get("/{tail:.*}", anything)
    runner = web.AppRunner(impostor)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    try:
        async with _client(anyint_gateway, public_url=f"http://127.0.0.1:{port}") as client:
            with pytest.raises(CallbackUnreachableError, match="not this client's receiver"):
                await client.check_callbacks()
            # Probes of one client prove nothing to another: its own receiver says 404.
            async with _client(anyint_gateway) as other:
                await other.check_callbacks()
    finally:
        await runner.cleanup()


async def test_a_mounted_app_warns_once_about_paths_it_does_not_serve(
    anyint_gateway: FakeGateway, caplog: pytest.LogCaptureFixture
) -> None:
    app = FastAPI()
    server = _Uvicorn(app)
    async with _client(
        anyint_gateway, receiver=False, public_url=f"http://127.0.0.1:{server.port}"
    ) as client:
        app.mount("/anyint", client.asgi_app())  # half the prefix: it sees /callbacks/{token}
        async with server:
            with caplog.at_level(logging.WARNING, logger="anyint_music"):
                await client.submit_lyrics("nobody hears this")
                await client.submit_lyrics("nor this")
                await anyint_gateway.wait_idle(timeout=20)
    warnings = [r for r in caplog.records if "does not serve" in r.getMessage()]
    assert len(warnings) == 1
    assert "/anyint/callbacks" in warnings[0].getMessage()


async def test_an_untrusted_certificate_is_named_as_a_tls_failure(
    anyint_gateway: FakeGateway,
) -> None:
    # The receiver serves TLS with a certificate of a private CA this machine does not trust.
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    trustme.CA().issue_cert("127.0.0.1").configure_cert(server_ctx)
    async with _client(anyint_gateway, ssl_context=server_ctx) as client:
        assert (client.public_url or "").startswith("https://")
        with pytest.raises(CallbackUnreachableError, match="TLS failed") as tls:
            await client.check_callbacks(timeout=10)
    assert "certificate" in str(tls.value)
