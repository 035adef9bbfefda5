"""The embedded callback server (aiohttp), and the same route for mounting in the user's app."""

from __future__ import annotations

import logging
import ssl

from aiohttp import web
from aiohttp.web_protocol import RequestPayloadError

from ._callbacks import CALLBACK_PREFIX, CallbackHandler, encode_answer

log = logging.getLogger("anyint_music")


async def read_capped(request: web.Request, cap: int) -> bytes | None:
    """The body, or ``None`` when it is larger than ``cap`` (read no further than that)."""
    length = request.content_length
    if length is not None:
        # The usual case: a declared length within the cap (aiohttp enforces it while reading).
        if length > cap:
            return None
        try:
            return await request.read()
        except web.HTTPRequestEntityTooLarge:  # a host app's own, smaller client_max_size
            return None
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = await request.content.read(min(65536, cap + 1 - size))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
        if size > cap:
            return None


class CallbackReceiver:
    """Serves the callback route over TCP (optionally TLS) or a Unix socket."""

    def __init__(
        self,
        handler: CallbackHandler,
        *,
        host: str,
        port: int,
        ssl_context: ssl.SSLContext | None = None,
        unix_socket: str | None = None,
    ) -> None:
        self._handler = handler
        self._host = host
        self._port = port
        self._ssl = ssl_context
        self._unix_socket = unix_socket
        self._runner: web.AppRunner | None = None
        self.url: str | None = None

    def routes(self) -> list[web.RouteDef]:
        """The callback route, for ``app.add_routes(...)`` in an existing aiohttp app."""
        return [web.post(CALLBACK_PREFIX + "{token}", self._handle)]

    def app(self) -> web.Application:
        # Our own cap is enforced while reading; aiohttp's must not cut in first.
        app = web.Application(client_max_size=self._handler.max_body + 1)
        app.add_routes(self.routes())
        return app

    async def start(self) -> str:
        """Start listening; return the base URL the receiver is reachable at locally."""
        runner = web.AppRunner(self.app(), access_log=None, handle_signals=False)
        await runner.setup()
        try:
            site: web.BaseSite
            if self._unix_socket is not None:
                site = web.UnixSite(runner, self._unix_socket)
            else:
                site = web.TCPSite(runner, self._host, self._port, ssl_context=self._ssl)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        if self._unix_socket is not None:
            self.url = f"unix:{self._unix_socket}"
            return self.url
        host, port = runner.addresses[0][:2]
        if ":" in host:
            host = f"[{host}]"
        self.url = f"{'https' if self._ssl else 'http'}://{host}:{port}"
        return self.url

    async def stop(self) -> None:
        """Stop accepting; in-flight handlers finish first."""
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        handler = self._handler
        address = handler.client_address(request.remote, request.headers)
        if not handler.admits(address):  # before reading anything
            status, answer = await handler.handle("", b"", request.headers, address)
            return _json(status, answer)
        try:
            raw = await read_capped(request, handler.max_body)
        except RequestPayloadError as exc:  # e.g. a Content-Encoding the body does not match
            log.warning("refused an unreadable callback body: %s", exc)
            return _json(400, encode_answer("unreadable body"))
        status, answer = await handler.handle(
            request.match_info["token"], raw, request.headers, address
        )
        return _json(status, answer)


def _json(status: int, body: bytes) -> web.Response:
    return web.Response(body=body, status=status, content_type="application/json", charset="utf-8")
