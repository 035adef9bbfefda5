"""The timelines of simulated tasks: the stages a music, lyrics, cover or export task goes
through after its submit was answered, what its record shows at each, and the callback each one
sends."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from . import _sim_bodies as bodies
from ._sim_export_bodies import FAILED_STATUS, export_callback
from ._sim_knobs import Knobs
from ._sim_records import SimTask
from ._sim_stats import Counters
from ._sim_uploads import FetchedUpload
from ._sim_world import TaskState

__all__ = ["Timelines"]

_Send = Callable[[TaskState, str, dict[str, Any]], None]
_Fetch = Callable[[str, str], Awaitable[FetchedUpload]]
# The callback code of a task whose uploadUrl could not be fetched (sunoapi: "451 related
# files could not be downloaded").
FETCH_FAILED_CODE = 451


def _finish(sim: SimTask, status: str, failure: tuple[int, str] | None) -> None:
    sim.status = status
    sim.complete_time = datetime.now(UTC)
    if failure is not None:
        sim.error_code, sim.error_message = failure


class Timelines:
    """Runs task timelines, handing each stage's callback body to `send`."""

    def __init__(self, knobs: Knobs, counters: Counters, send: _Send, fetch: _Fetch) -> None:
        self._knobs = knobs
        self._counters = counters
        self._send = send
        self._fetch = fetch

    async def music(self, state: TaskState) -> None:
        """``text``, ``first``, ``complete`` (or ``text``, ``error``), each after `stage_delay`.

        A task with an ``uploadUrl`` fetches it first; if that fails, it sends only ``error``
        (code 451).
        """
        knobs, sim = self._knobs, state.sim
        skip = knobs.skip_stages
        stages = [] if skip else ["text"]
        if state.upload_url is not None:
            fetched = await self._fetch(state.upload_url, sim.id)
            if fetched.error is not None:
                message = f"Failed to fetch the audio from uploadUrl: {fetched.error}."
                state.failure = (FETCH_FAILED_CODE, message)
                stages = []
        if state.failure is not None:
            stages.append("error")
        else:
            stages += ["complete"] if skip else ["first", "complete"]
        # A reordered task sends its callbacks shuffled once it has finished.
        plan = state.chaos
        held: list[tuple[str, dict[str, Any]]] | None = None
        if plan is not None and plan.reorder and len(stages) > 1:
            held = []
        for stage in stages:
            await asyncio.sleep(knobs.stage_delay)
            sim.stage = stage
            code: int = 200
            msg: str | None = None
            if stage == "text":
                sim.status = "TEXT_SUCCESS"
            elif stage == "first":
                sim.status = "FIRST_SUCCESS"
            elif stage == "complete":
                sim.result = [dict(t) for t in state.tracks]  # flat dicts: a deep copy
                _finish(sim, "SUCCESS", None)
            else:
                assert state.failure is not None
                _finish(sim, "GENERATE_AUDIO_FAILED", state.failure)
                code, msg = state.failure
            body = bodies.music_callback(
                stage,
                sim.id,
                state.tracks,
                text_tracks=knobs.text_tracks,
                unwrapped=knobs.unwrapped,
                code=code,
                msg=msg,
            )
            if held is None:
                self._send(state, stage, body)
            else:
                held.append((stage, body))
        if plan is not None and held is not None:
            self._counters.callbacks_reordered_tasks += 1
            for index in plan.order(len(held)):
                self._send(state, *held[index])

    async def lyrics(self, state: TaskState) -> None:
        """One ``lyrics`` stage after `stage_delay`."""
        knobs, sim = self._knobs, state.sim
        await asyncio.sleep(knobs.stage_delay)
        sim.stage = "lyrics"
        if state.failure is None:
            sim.result = [dict(v) for v in state.variants]
            _finish(sim, "SUCCESS", None)
            body = bodies.lyrics_callback(sim.id, state.variants, kie=knobs.kie_spelling)
        else:
            _finish(sim, "GENERATE_LYRICS_FAILED", state.failure)
            code, msg = state.failure
            body = bodies.lyrics_callback(sim.id, None, kie=knobs.kie_spelling, code=code, msg=msg)
        self._send(state, "lyrics", body)

    async def cover(self, state: TaskState) -> None:
        """``GENERATING``, then one ``cover`` stage after `stage_delay`."""
        sim = state.sim
        sim.status = "GENERATING"
        await asyncio.sleep(self._knobs.stage_delay)
        sim.stage = "cover"
        if state.failure is None:
            sim.result = list(state.images)
            _finish(sim, "SUCCESS", None)
            body = bodies.cover_callback(sim.id, list(state.images))
        else:
            _finish(sim, "GENERATE_COVER_FAILED", state.failure)
            code, msg = state.failure
            body = bodies.cover_callback(sim.id, None, code=code, msg=msg)
        self._send(state, "cover", body)

    async def export(self, state: TaskState) -> None:
        """One stage after `stage_delay` for a vocal, WAV, MP4 or persona task."""
        knobs, sim = self._knobs, state.sim
        await asyncio.sleep(knobs.stage_delay)
        sim.stage = sim.kind
        result: dict[str, Any] | None = None
        if state.failure is None:
            result = dict(state.output)
            sim.result = [result]
            _finish(sim, "SUCCESS", None)
        else:
            _finish(sim, FAILED_STATUS[sim.kind], state.failure)
        body = export_callback(
            sim,
            result,
            kie=knobs.kie_spelling,
            unwrapped=knobs.unwrapped,
            failure=state.failure,
        )
        self._send(state, sim.kind, body)
