"""The inspector's HTTP side: its page at ``/`` and its JSON API under ``/_sim/``.

Served only while `FakeGateway.inspector` is on (404 otherwise). Neither asks for the API key:
it is a local developer's tool. For the same reason any web page the developer visits could
aim requests at it, so a POST's body must be JSON (a cross-site form or a "simple" fetch
cannot send that without a preflight, which is never answered) and, when it names an Origin
(browsers always do), come from this very host. Every answer passes `redact`: the API key
never shows, whatever a request body holds.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any, Protocol

from aiohttp import web

from ._sim_delivery import Sender
from ._sim_inspector import PHASES, Entry, Inspector, delivery_view, detail, redact, summary
from ._sim_inspector_knobs import Controls, KnobError, apply_knobs, knob_values
from ._sim_knobs import STAGES, TASK_ROUTES
from ._sim_world import World

__all__ = ["Gateway", "InspectorApi", "is_inspector_path"]

_PREFIX = "/_sim/"
_STATIC = {
    "index.html": "text/html",
    "inspector.css": "text/css",
    "inspector.js": "text/javascript",
}
_MAX_BODY = 64 * 1024
# The page's own files, and media only from web addresses (the gateway serves results).
_PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' http: https: data:; media-src 'self' http: https:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def is_inspector_path(path: str) -> bool:
    """Whether `path` belongs to the inspector (the page or its API), not to the service."""
    return path == "/" or path.startswith(_PREFIX)


class Gateway(Controls, Protocol):
    """What the inspector's handlers read and set of `FakeGateway`."""

    @property
    def inspector(self) -> bool: ...
    @property
    def api_key(self) -> str: ...


class _Problem(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class InspectorApi:
    """The page and the ``/_sim/`` routes over the inspector's records and the gateway."""

    def __init__(
        self,
        gateway: Gateway,
        world: World,
        records: Inspector,
        sender: Sender,
    ) -> None:
        self._gateway = gateway
        self._world = world
        self._records = records
        self._sender = sender
        self._files: dict[str, bytes] = {}

    def add_routes(self, app: web.Application) -> None:
        """Add the page and the API to `app`."""
        add = app.router
        add.add_get("/", self._gate(self._on_page))
        add.add_get(_PREFIX + "static/{name}", self._gate(self._on_static))
        add.add_get(_PREFIX + "tasks", self._gate(self._on_tasks))
        add.add_get(_PREFIX + "tasks/{task_id}", self._gate(self._on_task))
        add.add_post(_PREFIX + "tasks/{task_id}/redeliver", self._gate(self._on_redeliver))
        add.add_get(_PREFIX + "knobs", self._gate(self._on_knobs))
        add.add_post(_PREFIX + "knobs", self._gate(self._on_set_knobs))
        # Last, so any other path or method under the inspector gets its JSON 404 (and, while it
        # is off, a 404 rather than aiohttp's 405 for a known path).
        add.add_route("*", "/", self._gate(self._on_unknown))
        add.add_route("*", _PREFIX + "{tail:.*}", self._gate(self._on_unknown))

    # -- plumbing ---------------------------------------------------------------------------

    def _gate(self, handler: _Handler) -> _Handler:
        async def gated(request: web.Request) -> web.StreamResponse:
            if not self._gateway.inspector:
                return _error(404, "The inspector is off; start FakeGateway(inspector=True).")
            try:
                if request.method == "POST":
                    _check_post(request)
                return await handler(request)
            except _Problem as problem:
                return self._json({"error": str(problem)}, problem.status)

        return gated

    def _json(self, data: Any, status: int = 200) -> web.Response:
        return web.json_response(
            redact(data, self._gateway.api_key), status=status, headers=_HEADERS
        )

    def _entry(self, request: web.Request) -> Entry:
        task_id = request.match_info["task_id"]
        entry = self._records.get(task_id)
        if entry is None:
            raise _Problem(404, f"The inspector keeps no task {task_id!r}.")
        return entry

    async def _on_unknown(self, request: web.Request) -> web.StreamResponse:
        raise _Problem(404, f"The inspector has no {request.method} {request.path}.")

    # -- the page ---------------------------------------------------------------------------

    def _file(self, name: str) -> bytes:
        if name not in self._files:
            folder = resources.files("anyint_music.testing") / "inspector"
            self._files[name] = (folder / name).read_bytes()
        return self._files[name]

    async def _on_page(self, request: web.Request) -> web.StreamResponse:
        return self._static("index.html")

    async def _on_static(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name == "index.html" or name not in _STATIC:
            raise _Problem(404, f"The inspector has no file {name!r}.")
        return self._static(name)

    def _static(self, name: str) -> web.Response:
        headers = {**_HEADERS, "Content-Security-Policy": _PAGE_POLICY}
        return web.Response(
            body=self._file(name), content_type=_STATIC[name], charset="utf-8", headers=headers
        )

    # -- tasks ------------------------------------------------------------------------------

    async def _on_tasks(self, request: web.Request) -> web.StreamResponse:
        query = request.query
        route = query.get("route") or None
        if route is not None and route not in TASK_ROUTES:
            raise _Problem(400, f"route must be one of {list(TASK_ROUTES)}, not {route!r}")
        status = query.get("status") or "all"
        if status != "all" and status not in PHASES:
            raise _Problem(400, f"status must be 'all' or one of {list(PHASES)}, not {status!r}")
        limit = _limit(query.get("limit"))
        matching = [
            summary(entry)
            for entry in self._records.newest_first()
            if route in (None, entry.sim.route)
        ]
        matching = [task for task in matching if status in ("all", task["phase"])]
        return self._json(
            {
                "tasks": matching[:limit] if limit is not None else matching,
                "total": len(matching),
                "routes": self._records.routes(),
                "kept_at_most": self._records.limit,
            }
        )

    async def _on_task(self, request: web.Request) -> web.StreamResponse:
        return self._json(detail(self._entry(request)))

    async def _on_redeliver(self, request: web.Request) -> web.StreamResponse:
        entry = self._entry(request)
        body = await _body(request, optional=True)
        if not isinstance(body, dict) or set(body) - {"stage"}:
            raise _Problem(400, 'The body must be {} or {"stage": "<stage name>"}.')
        stage = body.get("stage")
        if stage is not None and stage not in STAGES:
            raise _Problem(400, f"stage must be one of {sorted(STAGES)}, not {stage!r}")
        if not entry.sim.callback_url:
            raise _Problem(409, "This task has no callBackUrl: there is no callback to send.")
        delivered = [sent for sent, _ in entry.deliveries]
        if stage is None:
            stage = delivered[-1].stage if delivered else None
        if stage is None and entry.stages:
            stage = entry.stages[-1].stage  # every callback so far was dropped
        mark = next((m for m in reversed(entry.stages) if m.stage == stage), None)
        if mark is None:
            raise _Problem(409, f"The task has not reached a stage {stage or ''} to redeliver.")
        same = [sent for sent in delivered if sent.stage == mark.stage]
        # Where the last copy of that stage went (a balanced receiver), else its callBackUrl.
        url = same[-1].url if same else entry.sim.callback_url
        copy = max((sent.copy for sent in same), default=-1) + 1
        try:
            sent = await self._sender.redeliver(entry.state, mark.stage, mark.body, url, copy)
        except RuntimeError as exc:
            raise _Problem(503, f"Cannot redeliver: {exc}.") from None
        view = delivery_view(sent, True, mark.body)
        return self._json({"status": sent.status, "delivery": view})

    # -- knobs ------------------------------------------------------------------------------

    async def _on_knobs(self, request: web.Request) -> web.StreamResponse:
        return self._json(knob_values(self._gateway, self._world.task_failures))

    async def _on_set_knobs(self, request: web.Request) -> web.StreamResponse:
        changes = await _body(request, optional=False)
        try:
            apply_knobs(self._gateway, self._world.task_failures, changes)
        except KnobError as exc:
            raise _Problem(400, str(exc)) from None
        return self._json(knob_values(self._gateway, self._world.task_failures))


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=_HEADERS)


def _limit(raw: str | None) -> int | None:
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or int(raw) < 1:
        raise _Problem(400, f"limit must be a whole number of at least 1, not {raw!r}")
    return int(raw)


def _check_post(request: web.Request) -> None:
    if request.can_read_body and request.content_type != "application/json":
        raise _Problem(415, "Send the body as JSON (Content-Type: application/json).")
    origin = request.headers.get("Origin")
    if origin is not None and origin != f"{request.scheme}://{request.host}":
        raise _Problem(403, "The inspector takes changes only from its own page.")


async def _body(request: web.Request, *, optional: bool) -> Any:
    raw = await request.read()  # the app's client_max_size bounds it first
    if len(raw) > _MAX_BODY:
        raise _Problem(413, f"The body must be at most {_MAX_BODY} bytes.")
    if not raw.strip() and optional:
        return {}
    try:
        return json.loads(raw)
    except ValueError:
        raise _Problem(400, "The body is not valid JSON.") from None
