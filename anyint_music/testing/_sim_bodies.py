"""Wire shapes of the simulated gateway: callback bodies and query records (PROTOCOL §1.3, §3.3,
§6.3, §9)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from . import _sim_content as content
from ._sim_records import SimTask

STAGE_MESSAGES = {
    "text": "Text generation completed.",
    "first": "First track generated successfully.",
    "complete": "All generated successfully.",
}

# AnyInt's own callback example (A3) shows only these track keys.
_UNWRAPPED_TRACK_KEYS = (
    "id",
    "audio_url",
    "stream_audio_url",
    "image_url",
    "title",
    "tags",
    "duration",
)
_CAMEL = {
    "audio_url": "audioUrl",
    "stream_audio_url": "streamAudioUrl",
    "image_url": "imageUrl",
    "source_audio_url": "sourceAudioUrl",
    "source_stream_audio_url": "sourceStreamAudioUrl",
    "source_image_url": "sourceImageUrl",
    "model_name": "modelName",
}
# The URLs a track has only once it is finished, and those it has from `first` on.
_AUDIO_KEYS = ("audio_url", "source_audio_url")
_STREAM_KEYS = ("stream_audio_url", "source_stream_audio_url")
# A music record's `type` and `operationType` by creating route. Which operationType
# add-vocals, add-instrumental and replace-section report is not documented
# (PROTOCOL-TRANSFORM Q5); they are named like the documented ones [inference].
_OPERATIONS = {
    "/suno/generate": ("GENERATE", "generate"),
    "/suno/extend": ("EXTEND", "extend"),
    "/suno/upload-cover": ("GENERATE", "upload_cover"),
    "/suno/upload-extend": ("EXTEND", "upload_extend"),
    "/suno/add-vocals": ("GENERATE", "add_vocals"),
    "/suno/add-instrumental": ("GENERATE", "add_instrumental"),
    "/suno/replace-section": ("GENERATE", "replace_section"),
}


def suno_time(moment: datetime) -> str:
    """Format a time the way the music callbacks and records do: ``YYYY-MM-DD HH:MM:SS``."""
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def iso_ms(moment: datetime) -> str:
    """Format a time as ISO-8601 UTC with milliseconds, as the cover record does."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def epoch_ms(moment: datetime | None) -> int | None:
    """Format a time as the records' ``createTime``/``completeTime`` do: epoch milliseconds."""
    return None if moment is None else int(moment.timestamp() * 1000)


def make_track(
    base_url: str,
    task_id: str,
    index: int,
    *,
    model: str,
    title: str,
    lyrics: str,
    tags: str,
    created: datetime,
) -> dict[str, Any]:
    """Build track `index` of a music task in the callbacks' snake_case form.

    The ``source_*`` URLs (sunoapi's Suno-origin copies) are served by the gateway too.
    """
    audio = content.audio_id(task_id, index)
    return {
        "id": audio,
        "audio_url": f"{base_url}/files/{audio}.mp3",
        "source_audio_url": f"{base_url}/files/source-{audio}.mp3",
        "stream_audio_url": f"{base_url}/stream/{audio}",
        "source_stream_audio_url": f"{base_url}/stream/source-{audio}",
        "image_url": f"{base_url}/files/{audio}.jpeg",
        "source_image_url": f"{base_url}/files/source-{audio}.jpeg",
        "prompt": lyrics,
        "model_name": content.MODEL_NAMES[model],
        "title": title,
        "tags": tags,
        "createTime": suno_time(created),
        "duration": content.duration(audio),
    }


def _unfinished(track: dict[str, Any], *, streaming: bool) -> dict[str, Any]:
    """`track` before it is finished: no audio URLs, and no stream URLs before `first`."""
    keys = _AUDIO_KEYS if streaming else _AUDIO_KEYS + _STREAM_KEYS
    return {**track, **dict.fromkeys(keys, "")}


def music_callback(
    stage: str,
    task_id: str,
    tracks: list[dict[str, Any]],
    *,
    text_tracks: bool,
    unwrapped: bool,
    code: int = 200,
    msg: str | None = None,
) -> dict[str, Any]:
    """Build a music callback body for `stage` (``text``, ``first``, ``complete``, ``error``)."""
    items: list[dict[str, Any]] | None
    if stage == "error":
        items = None
    elif stage == "text":
        items = [_unfinished(t, streaming=False) for t in tracks] if text_tracks else []
    elif stage == "first":
        items = [tracks[0]]
    else:
        items = list(tracks)
    if unwrapped:
        if items is not None:
            items = [{k: t[k] for k in _UNWRAPPED_TRACK_KEYS} for t in items]
        return {"callbackType": stage, "task_id": task_id, "data": items}
    return {
        "code": code,
        "msg": msg if msg is not None else STAGE_MESSAGES[stage],
        "data": {"callbackType": stage, "task_id": task_id, "data": items},
    }


def _param(sim: SimTask) -> str:
    return json.dumps(sim.request, separators=(",", ":"), ensure_ascii=False)


def _camel(track: dict[str, Any]) -> dict[str, Any]:
    return {_CAMEL.get(k, k): v for k, v in track.items()}


def music_record(sim: SimTask, tracks: list[dict[str, Any]]) -> dict[str, Any]:
    """Build the ``/suno/query/task`` record of a music task in its current state.

    While ``PENDING`` the ``response`` is ``null``; a failed task shows an empty ``sunoData``.
    """
    shown: list[dict[str, Any]]
    if sim.status == "TEXT_SUCCESS":
        shown = [_unfinished(t, streaming=False) for t in tracks]
    elif sim.status == "FIRST_SUCCESS":
        shown = [tracks[0], *(_unfinished(t, streaming=True) for t in tracks[1:])]
    elif sim.status == "SUCCESS":
        shown = list(tracks)
    else:
        shown = []
    kind, operation = _OPERATIONS[sim.route]
    response = None
    if sim.status != "PENDING":
        response = {"taskId": sim.id, "sunoData": [_camel(t) for t in shown]}
    return {
        "taskId": sim.id,
        "parentMusicId": sim.parent_audio_id or "",
        "param": _param(sim),
        "response": response,
        "status": sim.status,
        "type": kind,
        "operationType": operation,
        "createTime": epoch_ms(sim.create_time),
        "errorCode": sim.error_code,
        "errorMessage": sim.error_message,
    }


def lyrics_callback(
    task_id: str,
    variants: list[dict[str, str]] | None,
    *,
    kie: bool,
    code: int = 200,
    msg: str = "All generated successfully.",
) -> dict[str, Any]:
    """Build the single lyrics callback; `variants` ``None`` builds the failure body."""
    id_key = "task_id" if kie else "taskId"
    items: list[dict[str, str]] | None = None
    if variants is not None:
        items = variants
        if kie:
            items = [
                {("error_message" if k == "errorMessage" else k): v for k, v in var.items()}
                for var in variants
            ]
    # Failure: sunoapi says callbackType "error"; kie keeps "complete" with data null.
    kind = "complete" if variants is not None or kie else "error"
    return {
        "code": code,
        "msg": msg,
        "data": {"callbackType": kind, id_key: task_id, "data": items},
    }


def lyrics_record(sim: SimTask) -> dict[str, Any]:
    """Build the ``/suno/query/lyrics`` record of a lyrics task in its current state."""
    return {
        "taskId": sim.id,
        "param": _param(sim),
        "response": {"taskId": sim.id, "data": list(sim.result or [])},
        "status": sim.status,
        "type": "LYRICS",
        "createTime": epoch_ms(sim.create_time),
        "errorCode": sim.error_code,
        "errorMessage": sim.error_message,
    }


def cover_callback(
    task_id: str, images: list[str] | None, *, code: int = 200, msg: str = "success"
) -> dict[str, Any]:
    """Build the single cover callback; `images` ``None`` builds the failure body."""
    return {"code": code, "msg": msg, "data": {"taskId": task_id, "images": images}}


_COVER_FLAGS = {"PENDING": 0, "SUCCESS": 1, "GENERATING": 2, "GENERATE_COVER_FAILED": 3}


def cover_record(sim: SimTask) -> dict[str, Any]:
    """Build the ``/suno/query/cover`` record of a cover task in its current state.

    A successful one has ``errorCode`` 200 and ``errorMessage`` "" (kie's enum is 200|500).
    """
    done = sim.status == "SUCCESS"
    return {
        "taskId": sim.id,
        "parentTaskId": sim.parent_task_id,
        "callbackUrl": sim.callback_url,
        "completeTime": iso_ms(sim.complete_time) if sim.complete_time else None,
        "response": {"images": list(sim.result) if sim.result else None},
        "successFlag": _COVER_FLAGS[sim.status],
        "createTime": iso_ms(sim.create_time),
        "errorCode": 200 if done else sim.error_code,
        "errorMessage": "" if done else sim.error_message,
    }
