"""The embedded callback server: one route, keyed by the per-task token in its path."""

from __future__ import annotations

import json
import logging

from aiohttp import web
from aiohttp.web_protocol import RequestPayloadError

from ._convert import WireFormatError, parse_callback
from ._registry import Outcome, TaskRegistry
from .stores import StoredTask

log = logging.getLogger("anyint_music")

CALLBACK_PREFIX = "/anyint/callbacks/"
DEFAULT_MAX_BODY = 1024 * 1024

_STATUS = {
    Outcome.ACCEPTED: 200,
    Outcome.DUPLICATE: 200,
    Outcome.UNKNOWN_TOKEN: 404,
    Outcome.MISMATCH: 409,
}


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def _answer(status: int, text: str) -> web.Response:
    return web.json_response({"status": text}, status=status)


class CallbackReceiver:
    """Accepts the service's callbacks and hands their events to the registry.

    A known token always gets 200 (duplicates too) so the sender stops retrying; an unknown one
    404; a body whose task id is not the token's task 409; a malformed body 400. None of them
    touches any other task.
    """

    def __init__(
        self, registry: TaskRegistry, *, host: str, port: int, max_body: int = DEFAULT_MAX_BODY
    ) -> None:
        self._registry = registry
        self._host = host
        self._port = port
        self._max_body = max_body
        self._runner: web.AppRunner | None = None
        self.url: str | None = None

    def app(self) -> web.Application:
        app = web.Application(client_max_size=self._max_body)
        app.router.add_post(CALLBACK_PREFIX + "{token}", self._handle)
        return app

    async def start(self) -> str:
        """Start listening; return the base URL the receiver is reachable at locally."""
        runner = web.AppRunner(self.app(), access_log=None, handle_signals=False)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self._host, self._port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        host, port = runner.addresses[0][:2]
        if ":" in host:
            host = f"[{host}]"
        self.url = f"http://{host}:{port}"
        return self.url

    async def stop(self) -> None:
        """Stop accepting; in-flight handlers finish first."""
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        state = await self._registry.lookup(token)
        if state is None:
            return _answer(404, "unknown callback token")
        try:
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge:
            log.warning("refused a callback body over %d bytes", self._max_body)
            return _answer(413, f"body larger than {self._max_body} bytes")
        except RequestPayloadError as exc:  # e.g. a Content-Encoding the body does not match
            log.warning("refused an unreadable callback body: %s", exc)
            return _answer(400, "unreadable body")
        try:
            body = json.loads(raw, parse_constant=_reject_constant)
            event = parse_callback(state.kind, body)
        except (ValueError, WireFormatError, RecursionError) as exc:
            # json.JSONDecodeError and UnicodeDecodeError are ValueErrors too.
            log.warning("refused a malformed callback: %.200s", exc)
            return _answer(400, f"malformed callback: {str(exc)[:200]}")
        try:
            if isinstance(state, StoredTask):
                outcome = await self._registry.deliver_foreign(state, event)
            else:
                outcome = await self._registry.deliver(state, event)
        except Exception:
            # The store could not record it: answer so that the sender tries again later.
            log.exception("could not record a callback for task %s", event.task_id)
            return _answer(503, "could not record the callback; try again")
        log.debug(
            "callback %s for task %s: %s",
            event.stage.value,
            event.task_id,
            outcome.value,
            extra={"task_id": event.task_id, "stage": event.stage.value},
        )
        return _answer(_STATUS[outcome], outcome.value)
