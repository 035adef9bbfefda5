"""The simulated gateway's HTTP routes: which handler answers which path, and how a created
task's submit is answered (on time, early, or lost) before its timeline runs. The inspector's
routes are added from `_sim_inspector_api`."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from aiohttp import web

from . import _sim_answers as answers
from ._sim_admission import JSON_BODY, TASK_CHAOS, Admission
from ._sim_exports import Exports
from ._sim_files import serve_file
from ._sim_inspector import Inspector
from ._sim_inspector_api import InspectorApi
from ._sim_knobs import Knobs
from ._sim_records import TaskKind
from ._sim_stats import Counters
from ._sim_timelines import Timelines
from ._sim_transform import UPLOAD_ROUTES, Transforms
from ._sim_validate import Refusal
from ._sim_world import TaskState, World

__all__ = ["Routes"]

_QUERY_KINDS: dict[str, TaskKind] = {
    "/suno/query/task": "music",
    "/suno/query/lyrics": "lyrics",
    "/suno/query/cover": "cover",
    "/suno/query/vocal-removal": "vocal",
    "/suno/query/wav": "wav",
    "/suno/query/mp4": "mp4",
}
_PERSONA = "/suno/generate-persona"
_Creator = Callable[[str, dict[str, Any], str], TaskState]
_Runner = Callable[[TaskState], Awaitable[None]]


def _object(request: web.Request) -> dict[str, Any]:
    body = request[JSON_BODY]
    if not isinstance(body, dict):
        raise Refusal(400, "Request body must be a JSON object.")
    return body


class Routes:
    """The route handlers over the gateway's world, admission, timelines and background."""

    def __init__(
        self,
        *,
        knobs: Knobs,
        world: World,
        admission: Admission,
        timelines: Timelines,
        counters: Counters,
        spawn: Callable[[Coroutine[Any, Any, None]], asyncio.Task[None]],
        closing: asyncio.Event,
        inspector: Inspector,
        inspector_api: InspectorApi,
    ) -> None:
        self._knobs = knobs
        self._inspector = inspector
        self._inspector_api = inspector_api
        self._world = world
        self._admission = admission
        self._counters = counters
        self._spawn = spawn
        self._closing = closing
        self._exports = exports = Exports(world)
        self._timelines = timelines
        transforms = Transforms(world)
        self._creators: dict[str, tuple[_Creator, _Runner]] = {
            "/suno/generate": (world.create_generate, timelines.music),
            "/suno/extend": (world.create_extend, timelines.music),
            **dict.fromkeys(UPLOAD_ROUTES, (transforms.upload, timelines.music)),
            "/suno/replace-section": (transforms.replace_section, timelines.music),
            "/suno/generate-lyrics": (world.create_lyrics, timelines.lyrics),
            "/suno/generate-cover": (world.create_cover, timelines.cover),
            "/suno/vocal-removal": (exports.vocal_removal, timelines.export),
            "/suno/split-stem": (exports.split_stem, timelines.export),
            "/suno/wav-generate": (exports.wav, timelines.export),
            "/suno/mp4-generate": (exports.mp4, timelines.export),
        }

    def app(self) -> web.Application:
        """A new application serving every route behind the admission middleware."""
        app = web.Application(middlewares=[self._admission.middleware])
        for path in self._creators:
            app.router.add_post(path, self._on_task_route)
        app.router.add_post(_PERSONA, self._on_persona)
        app.router.add_post("/suno/timestamped-lyrics", self._on_timestamped)
        app.router.add_post("/suno/style-generate", self._on_style)
        for path in _QUERY_KINDS:
            app.router.add_get(path, self._on_query)
        app.router.add_get("/files/{name}", self._on_file)
        app.router.add_get("/stream/{name}", self._on_file)
        self._inspector_api.add_routes(app)
        return app

    async def _on_task_route(self, request: web.Request) -> web.StreamResponse:
        creator, run = self._creators[request.path]
        return await self._create(request, creator, run)

    async def _create(
        self, request: web.Request, creator: _Creator, run: _Runner
    ) -> web.StreamResponse:
        state = creator(request.path, _object(request), self._knobs.url)
        state.chaos = request.get(TASK_CHAOS)
        self._counters.tasks_created += 1
        self._inspector.created(state)
        return await self._answer_created(request, state, run)

    async def _on_persona(self, request: web.Request) -> web.StreamResponse:
        # Synchronous upstream (PROTOCOL-TRANSFORM §8); a task only with `persona_as_task`.
        if self._knobs.persona_as_task:
            return await self._create(request, self._exports.persona_task, self._timelines.export)
        return answers.ok(self._exports.persona(_object(request)))

    async def _answer_created(
        self, request: web.Request, state: TaskState, run: _Runner
    ) -> web.StreamResponse:
        async def timeline() -> None:
            await state.answered.wait()
            await run(state)

        state.timeline = self._spawn(timeline())
        payload = {"code": 200, "msg": "success", "data": {"taskId": state.sim.id}}
        lost = self._admission.take_lost_answer(request.path)
        if lost is not None:
            self._counters.answers_dropped += 1
            state.answered.set()
            return await answers.lose(request, lost, self._closing)
        if self._knobs.early_callbacks or (state.chaos is not None and state.chaos.early):
            self._counters.answers_early += 1
            state.answered.set()
            await asyncio.wait([state.timeline])
            if state.last_delivery is not None:
                await asyncio.wait([state.last_delivery])
            return web.json_response(payload)
        # The answer is on the wire before the first stage starts, so a zero stage_delay still
        # delivers callbacks after the submit answer (unless early_callbacks asks otherwise).
        response = web.json_response(payload)
        try:
            await response.prepare(request)
            await response.write_eof()
        finally:
            state.answered.set()
        return response

    async def _on_timestamped(self, request: web.Request) -> web.StreamResponse:
        return answers.ok(self._world.timestamped_lyrics(_object(request)))

    async def _on_style(self, request: web.Request) -> web.StreamResponse:
        return answers.ok(self._world.style(_object(request)))

    async def _on_query(self, request: web.Request) -> web.StreamResponse:
        kind = _QUERY_KINDS[request.path]
        return answers.ok(self._world.record(kind, request.query.get("taskId", "")))

    async def _on_file(self, request: web.Request) -> web.StreamResponse:
        return await serve_file(self._world, request)
