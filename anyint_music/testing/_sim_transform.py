"""The simulated gateway's music-shaped transform routes (PROTOCOL-TRANSFORM §4-§7, §11):
upload-cover, upload-extend, add-vocals, add-instrumental and replace-section. Each checks its
body, makes a music task with its planned tracks, and (the four upload routes) notes the
``uploadUrl`` its timeline fetches before the first stage."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import _sim_content as content
from . import _sim_validate as check
from ._sim_validate import Refusal
from ._sim_world import Song, TaskState, World, generate_song

__all__ = ["UPLOAD_ROUTES", "Transforms"]

# Tracks per task: the vendors' examples show two for upload-cover, one for the others
# (PROTOCOL-TRANSFORM §3.1).
_TRACKS = {"/suno/upload-cover": 2}


def _cover_song(body: dict[str, Any]) -> Song:
    check.check_upload_cover(body)
    return generate_song(body)


def _extend_song(body: dict[str, Any]) -> Song:
    # With defaultParamFlag false the source's own parameters are unknown to the simulator:
    # the title and style come from the upload's URL, the lyrics from `prompt`.
    flag, _ = check.check_upload_extend(body)
    prompt: str = body.get("prompt") or ""
    if not flag:
        style = content.style_from_prompt(body["uploadUrl"])
        return Song(body["model"], "Extended Upload", prompt, style)
    lyrics = "" if body.get("instrumental") else prompt
    return Song(body["model"], body["title"], lyrics, body["style"])


def _vocals_song(body: dict[str, Any]) -> Song:
    model = check.check_add(body, ("prompt", "title", "style", "negativeTags"))
    return Song(model, body["title"], body["prompt"], body["style"])


def _instrumental_song(body: dict[str, Any]) -> Song:
    model = check.check_add(body, ("title", "tags", "negativeTags"))
    return Song(model, body["title"], "", body["tags"])


_SONGS: dict[str, Callable[[dict[str, Any]], Song]] = {
    "/suno/upload-cover": _cover_song,
    "/suno/upload-extend": _extend_song,
    "/suno/add-vocals": _vocals_song,
    "/suno/add-instrumental": _instrumental_song,
}

UPLOAD_ROUTES = tuple(_SONGS)


class Transforms:
    """Creators of the transform routes' tasks, over the gateway's `World`."""

    def __init__(self, world: World) -> None:
        self._world = world

    def upload(self, route: str, body: dict[str, Any], base_url: str) -> TaskState:
        """Check an upload-cover (generate's modes, §4.1), upload-extend (§5.1), add-vocals
        (§6.1) or add-instrumental (§7.1) body and create its task, which fetches
        ``uploadUrl`` before its first stage."""
        song = _SONGS[route](body)
        state = self._world.new_task("music", route, body)
        state.upload_url = body["uploadUrl"]
        self._world.add_tracks(state, base_url, song, count=_TRACKS.get(route, 1))
        return state

    def replace_section(self, route: str, body: dict[str, Any], base_url: str) -> TaskState:
        """Check a replace-section body against its finished source track (§11.1, kie's shape:
        a span of 6 to 60 s and at most half the track) and create its one-track task.

        The new track keeps the source's model and duration; ``callBackUrl`` is optional
        (without it the task sends no callbacks).
        """
        start, end = check.check_replace_section(body)
        source, index = self._world.task_track(body["taskId"], body["audioId"])
        length: float = source.tracks[index]["duration"]
        if end > length:
            raise Refusal(400, f"infillEndS must not exceed the track's duration ({length} s).")
        if end - start > length / 2:
            raise Refusal(400, "The replaced section must be at most 50% of the track.")
        state = self._world.new_task("music", route, body)
        state.sim.parent_task_id, state.sim.parent_audio_id = source.sim.id, body["audioId"]
        lyrics = body.get("fullLyrics") or body["prompt"]
        song = Song(source.model, body["title"], lyrics, body["tags"])
        self._world.add_tracks(state, base_url, song, count=1)
        state.tracks[0]["duration"] = length
        return state
