"""The simulated gateway's export routes over a finished track (PROTOCOL-TRANSFORM §8-§10,
§12, §13): vocal-removal and split-stem (stems), wav-generate, mp4-generate and
generate-persona. Each checks its body and the track it names, then makes a one-stage task
with its planned result, or (persona, by default) answers at once."""

from __future__ import annotations

from typing import Any

from . import _sim_validate as check
from ._sim_export_bodies import FAILED_STATUS, STEM_KEYS
from ._sim_records import TaskKind
from ._sim_validate import Refusal
from ._sim_world import TaskState, World

__all__ = ["Exports"]


class Exports:
    """Creators of the export routes' tasks and answers, over the gateway's `World`."""

    def __init__(self, world: World) -> None:
        self._world = world
        self._wavs: dict[str, str] = {}  # audio id -> its WAV task
        self._personas: dict[str, str | None] = {}  # audio id -> its persona task, if any

    def _source(self, body: dict[str, Any]) -> tuple[TaskState, int]:
        task_id, audio = check.check_track_request(body)
        return self._world.task_track(task_id, audio)

    def _make(
        self, kind: TaskKind, route: str, body: dict[str, Any], source: tuple[TaskState, int]
    ) -> TaskState:
        state = self._world.new_task(kind, route, body)
        music, index = source
        state.sim.parent_task_id = music.sim.id
        state.sim.parent_audio_id = music.tracks[index]["id"]
        state.source_index = index
        return state

    def _file(self, base_url: str, name: str) -> str:
        self._world.add_files(name)
        return f"{base_url}/files/{name}"

    def _failed(self, task_id: str | None, kind: TaskKind) -> bool:
        return task_id is not None and self._world.tasks[task_id].sim.status == FAILED_STATUS[kind]

    def _stems(self, route: str, body: dict[str, Any], base_url: str, kind: str) -> TaskState:
        state = self._make("vocal", route, body, self._source(body))
        for key in STEM_KEYS[kind]:
            if kind == "separate_vocal" and key == "origin_url":
                state.output[key] = ""  # the vendors' example leaves it empty
            else:
                name = f"stem-{state.sim.id}-{key.removesuffix('_url')}.mp3"
                state.output[key] = self._file(base_url, name)
        return state

    def vocal_removal(self, route: str, body: dict[str, Any], base_url: str) -> TaskState:
        """Check a vocal-removal body (§9.1; ``type`` defaults to ``separate_vocal``) and
        create its task."""
        return self._stems(route, body, base_url, check.stem_type(body))

    def split_stem(self, route: str, body: dict[str, Any], base_url: str) -> TaskState:
        """Create a split-stem task: vocal-removal with ``type`` ``split_stem`` (§10, whose
        body is undocumented: ``{taskId, audioId, callBackUrl}``; a ``type`` is ignored)."""
        return self._stems(route, body, base_url, "split_stem")

    def wav(self, route: str, body: dict[str, Any], base_url: str) -> TaskState:
        """Check a wav-generate body (§12.1; one WAV per track, 409 for another unless the
        earlier one failed) and create its task."""
        source = self._source(body)
        audio = body["audioId"]
        if audio in self._wavs and not self._failed(self._wavs[audio], "wav"):
            raise Refusal(409, "WAV record already exists")
        state = self._make("wav", route, body, source)
        self._wavs[audio] = state.sim.id
        state.output["audioWavUrl"] = self._file(base_url, f"wav-{state.sim.id}.wav")
        return state

    def mp4(self, route: str, body: dict[str, Any], base_url: str) -> TaskState:
        """Check an mp4-generate body (§13.1) and create its task."""
        source = self._source(body)
        check.check_mp4(body)
        state = self._make("mp4", route, body, source)
        state.output["video_url"] = self._file(base_url, f"video-{state.sim.id}.mp4")
        return state

    def _persona_source(
        self, body: dict[str, Any], *, with_callback: bool
    ) -> tuple[TaskState, int]:
        _, end = check.check_persona(body, with_callback=with_callback)
        source, index = self._world.task_track(body["taskId"], body["audioId"])
        length: float = source.tracks[index]["duration"]
        if end > length:
            raise Refusal(400, f"vocalEnd must not exceed the track's duration ({length} s).")
        audio = body["audioId"]
        if audio in self._personas and not self._failed(self._personas[audio], "persona"):
            raise Refusal(409, "Persona already exists for this music")
        return source, index

    def _persona(self, body: dict[str, Any]) -> dict[str, Any]:
        return {
            "personaId": self._world.new_id(),
            "name": body["name"],
            "description": body["description"],
        }

    def persona(self, body: dict[str, Any]) -> dict[str, Any]:
        """Answer a generate-persona body at once (§8.2): one persona per track, else 409."""
        self._persona_source(body, with_callback=False)
        self._personas[body["audioId"]] = None
        return self._persona(body)

    def persona_task(self, route: str, body: dict[str, Any], base_url: str) -> TaskState:
        """Create a persona task whose persona comes by callback (`persona_as_task`)."""
        state = self._make("persona", route, body, self._persona_source(body, with_callback=True))
        self._personas[body["audioId"]] = state.sim.id
        state.output.update(self._persona(body))
        return state
