"""What the simulated service knows: its tasks, tracks and files, and the route rules that need
them. No HTTP here; `_sim_routes` turns these results and `Refusal`s into answers."""

from __future__ import annotations

import asyncio
import json
import random
from datetime import UTC, datetime
from typing import Any

import attrs

from . import _sim_bodies as bodies
from . import _sim_content as content
from . import _sim_validate as check
from ._sim_chaos import TaskChaos
from ._sim_export_bodies import export_record
from ._sim_records import SimTask, TaskKind
from ._sim_rules import TaskFailure, take_rule
from ._sim_validate import Refusal

_FAILURE_MESSAGES = {
    "music": "Audio generation failed",
    "lyrics": "Lyrics generation failed",
    "cover": "Cover generation failed",
    "vocal": "Vocal separation failed",
    "wav": "WAV generation failed",
    "mp4": "MP4 generation failed",
    "persona": "Persona generation failed",
}
_SOURCE = "source-"  # file-name prefix of a track's `source_*` copies


@attrs.frozen
class Song:
    """What a music task's tracks carry: the model they are made with and their text."""

    model: str
    title: str
    lyrics: str
    tags: str


def generate_song(body: dict[str, Any]) -> Song:
    """The song of a checked generate-shaped body: custom mode as given, simple mode derived
    from the description (PROTOCOL §1.1, PROTOCOL-TRANSFORM §4.1)."""
    prompt: str = body.get("prompt") or ""
    instrumental: bool = body["instrumental"]
    if body["customMode"]:
        return Song(body["model"], body["title"], "" if instrumental else prompt, body["style"])
    lyrics = "" if instrumental else content.lyrics_from_prompt(prompt)
    title, tags = content.title_from_prompt(prompt), content.style_from_prompt(prompt)
    return Song(body["model"], title, lyrics, tags)


@attrs.define(eq=False)
class TaskState:
    """A task plus what the simulator planned for it and the work scheduled for it.

    `upload_url` is the source audio a music task fetches before its first stage; `output`
    the one result dict of an export task; `source_index` the position of its source track;
    `model` the model a music task's tracks were made with.
    """

    sim: SimTask
    failure: tuple[int, str] | None
    answered: asyncio.Event = attrs.Factory(asyncio.Event)
    tracks: list[dict[str, Any]] = attrs.Factory(list)
    variants: list[dict[str, str]] = attrs.Factory(list)
    images: list[str] = attrs.Factory(list)
    upload_url: str | None = None
    output: dict[str, Any] = attrs.Factory(dict)
    source_index: int = 0
    model: str = ""
    timeline: asyncio.Task[None] | None = None
    last_delivery: asyncio.Task[None] | None = None
    chaos: TaskChaos | None = None

    def track_ready(self, index: int) -> bool:
        """Whether track `index` of this music task has finished."""
        return self.sim.stage == "complete" or (self.sim.stage == "first" and index == 0)


class World:
    """The simulated service's state and the route rules that depend on it."""

    def __init__(self, seed: int) -> None:
        self.tasks: dict[str, TaskState] = {}
        self.task_failures: list[TaskFailure] = []
        self._rng = random.Random(seed)
        self._ids: set[str] = set()
        self._audio: dict[str, tuple[str, int]] = {}
        self._files: set[str] = set()
        self._credits = 1000.0

    def new_id(self) -> str:
        """Mint a unique task id: 32 lowercase hex characters, reproducible from the seed."""
        while True:
            task_id = f"{self._rng.getrandbits(128):032x}"
            if task_id not in self._ids:
                self._ids.add(task_id)
                return task_id

    def new_task(self, kind: TaskKind, route: str, body: dict[str, Any]) -> TaskState:
        """Make a task of `kind` for a checked `body`; a pending `fail_tasks` rule dooms it."""
        rule = take_rule(self.task_failures, route)
        failure = None if rule is None else (rule.code, rule.message or _FAILURE_MESSAGES[kind])
        sim = SimTask(
            id=self.new_id(),
            kind=kind,
            route=route,
            request=body,
            callback_url=body.get("callBackUrl") or "",
            create_time=datetime.now(UTC),
        )
        state = TaskState(sim=sim, failure=failure)
        self.tasks[sim.id] = state
        return state

    def add_tracks(self, state: TaskState, base_url: str, song: Song, *, count: int = 2) -> None:
        """Plan `count` tracks of `song` for a music task and serve their files."""
        sim = state.sim
        state.model = song.model
        for index in range(count):
            track = bodies.make_track(
                base_url,
                sim.id,
                index,
                model=song.model,
                title=song.title,
                lyrics=song.lyrics,
                tags=song.tags,
                created=sim.create_time,
            )
            state.tracks.append(track)
            audio = track["id"]
            self._audio[audio] = (sim.id, index)
            self.add_files(f"{audio}.mp3", f"{audio}.jpeg")
            self.add_files(f"{_SOURCE}{audio}.mp3", f"{_SOURCE}{audio}.jpeg")

    def add_files(self, *names: str) -> None:
        """Serve files of these names (their bytes come from `_sim_content.file_bytes`)."""
        self._files.update(names)

    def music(self, task_id: str) -> TaskState:
        """The music task `task_id`, or a 404 refusal."""
        state = self.tasks.get(task_id)
        if state is None or state.sim.kind != "music":
            raise Refusal(404, f"Music task {task_id} not found.")
        return state

    def finished_track(self, audio: str) -> tuple[TaskState, int]:
        """The music task and index of the finished track `audio`, or a refusal."""
        owner = self._audio.get(audio)
        if owner is None:
            raise Refusal(404, f"audioId {audio} not found.")
        state = self.tasks[owner[0]]
        if not state.track_ready(owner[1]):
            raise Refusal(400, f"audioId {audio} has not finished generating yet.")
        return state, owner[1]

    def task_track(self, task_id: str, audio: str) -> tuple[TaskState, int]:
        """Like `finished_track`, for a track that must belong to the music task `task_id`."""
        self.music(task_id)
        owner = self._audio.get(audio)
        if owner is not None and owner[0] != task_id:
            raise Refusal(400, f"audioId {audio} does not belong to task {task_id}.")
        return self.finished_track(audio)

    def create_generate(self, route: str, body: dict[str, Any], base_url: str) -> TaskState:
        """Check a generate body and create its music task (PROTOCOL §1)."""
        check.check_generate(body)
        state = self.new_task("music", route, body)
        self.add_tracks(state, base_url, generate_song(body))
        return state

    def create_extend(self, route: str, body: dict[str, Any], base_url: str) -> TaskState:
        """Check an extend body against its source track and create the music task (§2)."""
        audio, flag, continue_at = check.check_extend(body)
        source, index = self.finished_track(audio)
        track = source.tracks[index]
        source_model = source.model
        if body["model"] != source_model:
            raise Refusal(400, f"model must match the source track's model ({source_model}).")
        if flag:
            assert continue_at is not None
            if not 0 < continue_at < track["duration"]:
                raise Refusal(
                    400,
                    "continueAt must be greater than 0 and less than the source audio's "
                    f"duration ({track['duration']} s).",
                )
            title, lyrics, tags = body["title"], body["prompt"], body["style"]
        else:
            title, lyrics, tags = track["title"], track["prompt"], track["tags"]
        state = self.new_task("music", route, body)
        state.sim.parent_task_id, state.sim.parent_audio_id = source.sim.id, audio
        self.add_tracks(state, base_url, Song(body["model"], title, lyrics, tags))
        return state

    def create_lyrics(self, route: str, body: dict[str, Any], base_url: str) -> TaskState:
        """Check a generate-lyrics body and create its lyrics task (§3)."""
        prompt = check.check_lyrics(body)
        state = self.new_task("lyrics", route, body)
        state.variants = content.lyric_variants(prompt)
        return state

    def create_cover(self, route: str, body: dict[str, Any], base_url: str) -> TaskState:
        """Check a generate-cover body (one cover per finished music task) and create it (§6)."""
        check.callback_url(body)
        music = self.music(check.task_id(body))
        if music.sim.cover_task_id is not None:
            existing = self.tasks[music.sim.cover_task_id].sim
            if existing.status != "GENERATE_COVER_FAILED":
                raise Refusal(
                    400, "A cover was already generated for this task.", {"taskId": existing.id}
                )
        if music.sim.status != "SUCCESS":
            raise Refusal(400, f"Music task {music.sim.id} has not finished successfully.")
        state = self.new_task("cover", route, body)
        state.sim.parent_task_id = music.sim.id
        music.sim.cover_task_id = state.sim.id
        names = [f"cover-{state.sim.id}-{i}.png" for i in (1, 2)]
        self.add_files(*names)
        state.images = [f"{base_url}/files/{name}" for name in names]
        return state

    def timestamped_lyrics(self, body: dict[str, Any]) -> dict[str, Any]:
        """Answer a timestamped-lyrics body with the §4.2 ``data`` object."""
        state, index = self.task_track(check.task_id(body), check.audio_id(body))
        track = state.tracks[index]
        return {
            "alignedWords": content.aligned_words(track["prompt"], track["duration"]),
            "waveformData": content.waveform(track["id"]),
            "hootCer": content.hoot_cer(track["id"]),
            "isStreamed": False,
        }

    def style(self, body: dict[str, Any]) -> dict[str, Any]:
        """Answer a style-generate body with the §5.2 ``data`` object."""
        text = check.content(body)
        self._credits = round(max(0.0, self._credits - 0.4), 2)
        return {
            "taskId": self.new_id(),
            "param": json.dumps(body, separators=(",", ":"), ensure_ascii=False),
            "result": content.boosted_style(text),
            "creditsConsumed": 0.4,
            "creditsRemaining": self._credits,
            "successFlag": "1",
            "errorCode": None,
            "errorMessage": "",
            "createTime": bodies.suno_time(datetime.now(UTC)),
        }

    def record(self, kind: TaskKind, task_id: str) -> dict[str, Any]:
        """Answer a query route with the §9 record of a task of `kind`."""
        if not task_id:
            raise Refusal(400, "taskId cannot be empty.")
        state = self.tasks.get(task_id)
        if state is None or state.sim.kind != kind:
            raise Refusal(404, f"{kind.capitalize()} task {task_id} not found.")
        if kind == "music":
            return bodies.music_record(state.sim, state.tracks)
        if kind == "lyrics":
            return bodies.lyrics_record(state.sim)
        if kind == "cover":
            return bodies.cover_record(state.sim)
        return export_record(state.sim, state.source_index)

    def file(self, name: str) -> tuple[bytes, str] | None:
        """Return the bytes and content type of a served file, or ``None`` if unknown."""
        return content.file_bytes(name) if name in self._files else None

    def stream(self, name: str) -> tuple[bytes, str] | None:
        """Return the stream bytes of a track (or of its ``source-`` copy), or ``None``."""
        audio = name.removeprefix(_SOURCE)
        return content.file_bytes(f"{name}.mp3") if audio in self._audio else None
