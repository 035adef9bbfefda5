"""The embedded callback server (aiohttp), and the same route for mounting in the user's app.

The embedded server holds out against slow senders (slowloris): a connection must send a
complete request within ``read_timeout``, and the open connections are capped below the
process's limit on open files. At the cap, a new connection closes the one that has waited
longest without a complete request, so idle or trickling connections can never lock the
service's callbacks out.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import sys
from collections import OrderedDict
from collections.abc import Callable

from aiohttp import web
from aiohttp.abc import AbstractStreamWriter
from aiohttp.http import HttpVersion11, RawRequestMessage
from aiohttp.streams import StreamReader
from aiohttp.web_protocol import RequestHandler, RequestPayloadError

from ._callbacks import CALLBACK_PREFIX, CallbackHandler, encode_answer, read_capped
from ._probe import PROBE_PREFIX, Probes
from ._uploads import FILES_PREFIX, Uploads
from .errors import ConfigurationError

if sys.platform != "win32":
    import resource

log = logging.getLogger("anyint_music")

DEFAULT_READ_TIMEOUT = 10.0
# Idle connections cost memory too: even with a vast limit on open files, no more by default.
_MAX_DEFAULT_CONNECTIONS = 4096


def default_max_connections() -> int:
    """The default cap on the receiver's open connections: well below this process's limit on
    open files, since every connection holds one."""
    if sys.platform == "win32":  # no per-process limit to derive it from
        return _MAX_DEFAULT_CONNECTIONS
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return _MAX_DEFAULT_CONNECTIONS
    # Headroom for the rest of the process (HTTP session, store, logs), for sockets accepted
    # in one go before their connections are counted (asyncio accepts up to a listen backlog
    # of them per loop turn), and for closed ones whose descriptors are freed a turn later.
    return max(min(soft - max(512, soft // 4), _MAX_DEFAULT_CONNECTIONS), soft // 4, 1)


def _received_body(request: web.BaseRequest, cap: int) -> bytes | None:
    """The body, received in full and not read yet, taken at once (no coroutine); ``None``
    when it is larger than ``cap``. Only for the embedded server: the bytes are not kept for
    a later ``request.read()``, which a host app's own code might make."""
    raw = request.content.read_nowait()
    return None if len(raw) > cap else raw


async def _read_body(request: web.BaseRequest, cap: int) -> bytes | None:
    """The body, or ``None`` when it is larger than ``cap`` (reading stops once past it)."""
    length = request.content_length
    if length is not None:
        # The usual case: a declared length within the cap (aiohttp enforces it while reading).
        if length > cap:
            return None
        try:
            return await request.read()
        except web.HTTPRequestEntityTooLarge:  # a host app's own, smaller client_max_size
            return None
    # No declared length (a chunked body): read as it comes, in aiohttp's own chunk size.
    return await read_capped(request.content.iter_chunked(65536), cap)


class _ConnectionCap:
    """Keeps the receiver's open connections at ``limit`` or fewer. At the limit a new
    connection closes the one that has waited longest without a complete request (idle, or
    still sending its head or body); a request being answered is never cut off."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._waiting: OrderedDict[RequestHandler, None] = OrderedDict()  # longest first
        self._answering: set[RequestHandler] = set()

    def factory(self, server: web.Server) -> Callable[[], asyncio.Protocol]:
        """The protocol factory for ``loop.create_server``: aiohttp's, counted."""
        # A class of its own per cap, since the handler has no room for one more attribute.
        counted = type("_Counted", (_Counted,), {"__slots__": (), "cap": self})

        def made() -> RequestHandler:
            handler = server()
            handler.__class__ = counted
            return handler

        return made

    def opened(self, conn: RequestHandler) -> None:
        if len(self._waiting) + len(self._answering) >= self.limit:
            if not self._waiting:
                # Every connection is answering a request: this one must wait its turn; the
                # service tries again.
                conn.force_close()
                return
            oldest, _ = self._waiting.popitem(last=False)
            oldest.force_close()
        self._waiting[conn] = None

    def closed(self, conn: RequestHandler) -> None:
        self._waiting.pop(conn, None)
        self._answering.discard(conn)

    def answering(self, conn: RequestHandler) -> None:
        """``conn`` delivered a complete request (a no-op for connections not counted here,
        e.g. those of a user's app the routes are mounted in)."""
        if conn in self._waiting:
            del self._waiting[conn]
            self._answering.add(conn)

    def served(self, conn: RequestHandler) -> None:
        """``conn`` delivered a complete request and has been answered at once: it now waits
        for its next request, last in line."""
        waiting = self._waiting
        if conn in waiting:
            waiting.move_to_end(conn)

    def answered(self, conn: RequestHandler) -> None:
        if conn in self._answering:
            self._answering.remove(conn)
            self._waiting[conn] = None  # now waits for its next request, last in line


class _Counted(RequestHandler):
    """aiohttp's protocol for one connection, telling the cap when it opens and closes.

    The very handler aiohttp made, given this class (the same slots, no new state): its
    ``data_received`` is aiohttp's own, with no wrapper's call in front of every chunk.
    """

    __slots__ = ()
    cap: _ConnectionCap

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.cap.opened(self)

    def connection_lost(self, exc: BaseException | None) -> None:
        self.cap.closed(self)
        super().connection_lost(exc)


class CallbackReceiver:
    """Serves the callback route over TCP (optionally TLS) or a Unix socket.

    Args:
        handler: what is done with each callback.
        host, port: where to listen (port 0: a free one).
        ssl_context: serve TLS with it.
        unix_socket: listen on this Unix socket path instead of TCP.
        max_connections: the most connections open at once; default derived from the
            process's limit on open files (:func:`default_max_connections`).
        read_timeout: seconds a connection has to send a complete request head after it
            connects (or after its previous answer), and again for the body; then it is
            closed (408 for a late body).
    """

    def __init__(
        self,
        handler: CallbackHandler,
        *,
        host: str,
        port: int,
        ssl_context: ssl.SSLContext | None = None,
        unix_socket: str | None = None,
        max_connections: int | None = None,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        uploads: Uploads | None = None,
        probes: Probes | None = None,
    ) -> None:
        if max_connections is not None and max_connections < 1:
            raise ConfigurationError("max_connections must be at least 1")
        if not read_timeout > 0:
            raise ConfigurationError("read_timeout must be a positive number of seconds")
        self._handler = handler
        self._host = host
        self._port = port
        self._ssl = ssl_context
        self._unix_socket = unix_socket
        self._max_connections = max_connections
        self._read_timeout = read_timeout
        self._uploads = uploads if uploads is not None else Uploads()
        # Connections streaming a shared file: cut at stop(), which would else wait for them.
        self._streaming: set[asyncio.Transport] = set()
        self._probes = probes if probes is not None else Probes()
        self._runner: web.BaseRunner | None = None
        self._listener: asyncio.Server | None = None
        self._cap: _ConnectionCap | None = None
        self.url: str | None = None

    def routes(self) -> list[web.RouteDef]:
        """The callback route, for ``app.add_routes(...)`` in an existing aiohttp app."""

        async def callback(request: web.Request) -> web.StreamResponse:
            return await self._callback(request, request.match_info["token"], mounted=True)

        async def file(request: web.Request) -> web.StreamResponse:
            info = request.match_info
            return await self._file(request, info["secret"], info["name"])

        async def probe(request: web.Request) -> web.StreamResponse:
            return self._probe(request.match_info["secret"])

        return [
            web.post(CALLBACK_PREFIX + "{token}", callback),
            web.get(FILES_PREFIX + "{secret}/{name}", file),
            web.get(PROBE_PREFIX + "{secret}", probe),
        ]

    def _request(
        self,
        message: RawRequestMessage,
        payload: StreamReader,
        protocol: RequestHandler,
        writer: AbstractStreamWriter,
        task: asyncio.Task[None],
    ) -> web.BaseRequest:
        # Our own cap is enforced while reading; aiohttp's must not cut in first.
        return web.BaseRequest(
            message,
            payload,
            protocol,
            writer,
            task,
            asyncio.get_running_loop(),
            client_max_size=self._handler.max_body + 1,
        )

    async def _dispatch(self, request: web.BaseRequest) -> web.StreamResponse:
        """The embedded server's three routes, told apart by prefix: the same paths as
        :meth:`routes`, with no router and no application in front of every callback."""
        path = request.path
        method = request.method
        # The file and probe paths lie under the callback prefix: they are told apart first.
        if path.startswith(FILES_PREFIX):
            secret, _, name = path[len(FILES_PREFIX) :].partition("/")
            if secret and name and "/" not in name:
                if method not in ("GET", "HEAD"):
                    return _not_allowed("GET", "HEAD")
                return await self._file(request, secret, name)
        elif path.startswith(PROBE_PREFIX):
            secret = path[len(PROBE_PREFIX) :]
            if secret and "/" not in secret:
                if method not in ("GET", "HEAD"):
                    return _not_allowed("GET", "HEAD")
                return self._probe(secret)
        if path.startswith(CALLBACK_PREFIX):
            token = path[len(CALLBACK_PREFIX) :]
            if token and "/" not in token:
                if method != "POST":
                    return _not_allowed("POST")
                if request.headers.get("Expect") and (refused := await _expect(request)):
                    return refused
                return await self._callback(request, token, mounted=False)
        return _json(404, encode_answer("not found"))

    async def start(self) -> str:
        """Start listening; return the base URL the receiver is reachable at locally."""
        server = web.Server(
            self._dispatch,
            request_factory=self._request,
            access_log=None,
            # aiohttp closes a connection that waits for a request head this long, counted
            # from when it connected or was last answered: the header-read timeout.
            keepalive_timeout=self._read_timeout,
        )
        runner = web.ServerRunner(server, handle_signals=False)
        await runner.setup()
        assert runner.server is not None
        cap = _ConnectionCap(self._max_connections or default_max_connections())
        # Listening ourselves rather than through an aiohttp site: only so can the cap see
        # every connection. As TCPSite and UnixSite do, with a bound on TLS handshakes.
        factory = cap.factory(runner.server)
        handshake = self._read_timeout if self._ssl is not None else None
        loop = asyncio.get_running_loop()
        try:
            if self._unix_socket is not None:
                listener = await loop.create_unix_server(
                    factory,
                    self._unix_socket,
                    backlog=128,
                    ssl=self._ssl,
                    ssl_handshake_timeout=handshake,
                )
            else:
                listener = await loop.create_server(
                    factory,
                    self._host,
                    self._port,
                    backlog=128,
                    ssl=self._ssl,
                    ssl_handshake_timeout=handshake,
                )
        except BaseException:
            await runner.cleanup()
            raise
        self._runner, self._listener, self._cap = runner, listener, cap
        if self._unix_socket is not None:
            self.url = f"unix:{self._unix_socket}"
            return self.url
        host, port = listener.sockets[0].getsockname()[:2]
        if ":" in host:
            host = f"[{host}]"
        self.url = f"{'https' if self._ssl else 'http'}://{host}:{port}"
        return self.url

    async def stop(self) -> None:
        """Stop accepting; in-flight handlers finish first."""
        if self._runner is not None:
            runner, self._runner = self._runner, None
            if self._listener is not None:
                self._listener.close()  # accept nothing more
                self._listener = None
            for transport in list(self._streaming):  # a download is no callback to finish
                transport.abort()
            await runner.cleanup()  # closes idle connections, lets the others be answered
            self._cap = None

    async def _callback(
        self, request: web.BaseRequest, token: str, *, mounted: bool
    ) -> web.Response:
        handler = self._handler
        # The sender's address matters only to an allow-list: no header walk without one.
        address = (
            None
            if handler.allowed_ips is None
            else handler.client_address(request.remote, request.headers)
        )
        if not handler.admits(address):  # before reading anything
            status, answer = await handler.handle("", b"", request.headers, address)
            return _json(status, answer)
        try:
            content = request.content
            if content.is_eof() and not mounted:
                # The usual case: the whole body came with the head (nothing else reads it).
                raw = _received_body(request, handler.max_body)
            elif content.is_eof():  # in a host app, whose code may read the body too
                raw = await _read_body(request, handler.max_body)
            else:  # a timer only for a body still on its way: one per request would cost
                async with asyncio.timeout(self._read_timeout):
                    raw = await _read_body(request, handler.max_body)
        except TimeoutError:
            log.warning("refused a callback whose body took over %g s", self._read_timeout)
            response = _json(408, encode_answer("body not received in time"))
            response.force_close()
            return response
        except RequestPayloadError as exc:  # e.g. a Content-Encoding the body does not match
            log.warning("refused an unreadable callback body: %s", exc)
            return _json(400, encode_answer("unreadable body"))
        except ConnectionError:  # closed while the body came (e.g. by the cap): nobody to answer
            return _json(400, encode_answer("unreadable body"))
        cap = self._cap
        done = handler.handle_now(token, raw, request.headers, address)
        if done is not None:  # answered with no wait: nothing could close the connection
            if cap is not None:
                cap.served(request.protocol)
            return _json(*done)
        if cap is not None:
            cap.answering(request.protocol)
        try:
            status, answer = await handler.handle(token, raw, request.headers, address)
        finally:
            if cap is not None:
                cap.answered(request.protocol)
        return _json(status, answer)

    def _probe(self, secret: str) -> web.Response:
        """``check_callbacks()``'s probe: proof for one of ours, a plain 404 for any other."""
        answer = self._probes.arrived(secret)
        if answer is None:
            return _json(404, encode_answer("not found"))
        return _json(200, answer)

    async def _file(self, request: web.BaseRequest, secret: str, name: str) -> web.StreamResponse:
        """A local file shared as a task's ``upload_url`` (see ``_uploads``)."""
        handler = self._handler
        if not handler.admits(handler.client_address(request.remote, request.headers)):
            return _json(403, encode_answer("forbidden"))
        answer = self._uploads.answer(secret, name, request.headers.get("Range"))
        if answer is None:
            return _json(404, encode_answer("not found"))
        cap = self._cap
        if cap is not None:  # a download in progress is never the one the cap closes
            cap.answering(request.protocol)
        transport = request.transport
        if isinstance(transport, asyncio.Transport):
            self._streaming.add(transport)
        response = web.StreamResponse(status=answer.status, headers=answer.headers)
        try:
            await response.prepare(request)
            if request.method != "HEAD":
                async for chunk in answer.chunks():
                    await response.write(chunk)
            await response.write_eof()
        except ConnectionError:  # the fetcher went away, or stop() cut the download
            pass
        finally:
            answer.close()
            if isinstance(transport, asyncio.Transport):
                self._streaming.discard(transport)
            if cap is not None:
                cap.answered(request.protocol)
        return response


_JSON = "application/json; charset=utf-8"


def _not_allowed(*methods: str) -> web.Response:
    response = _json(405, encode_answer("method not allowed"))
    response.headers["Allow"] = ", ".join(methods)
    return response


async def _expect(request: web.BaseRequest) -> web.Response | None:
    """Answer ``Expect: 100-continue`` before the body is read, as aiohttp's router does; any
    other expectation over HTTP/1.1 is refused with 417, as there."""
    if request.version != HttpVersion11:
        return None
    if request.headers["Expect"].lower() != "100-continue":
        return _json(417, encode_answer("expectation failed"))
    await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    request.writer.output_size = 0  # the 100 is not part of the answer's size
    return None


def _json(status: int, body: bytes) -> web.Response:
    # The header as it goes out: aiohttp's content_type and charset arguments build it anew.
    return web.Response(body=body, status=status, headers={"Content-Type": _JSON})
