"""What each kind of task makes, and how its callbacks and records read: one entry per kind.

A callback is read by the kind of the task its token belongs to (the receiver knows which
route made it); a record by the kind asked for. Each kind says which route reads its task back
(``query``; ``None``: it cannot be polled), how a callback's and a record's inner object become
a :class:`TaskEvent`, and which result a final event makes (``None``: not usable yet). Both
spellings the vendors use are read (PROTOCOL-TRANSFORM.md §16).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from ._convert import WireFormatError, code_of, each, split_envelope, task_id_of
from ._models import (
    CoverResult,
    LyricsResult,
    LyricVariant,
    MusicResult,
    Persona,
    Stage,
    StemsResult,
    TaskEvent,
    TaskKind,
    Track,
    VideoResult,
    WavResult,
)

_FAILED_TYPES = frozenset({"error", "failed"})
_MUSIC_STAGES = {"text": Stage.TEXT, "first": Stage.FIRST, "complete": Stage.COMPLETE}
_MUSIC_STATUS = {
    "TEXT_SUCCESS": Stage.TEXT,
    "FIRST_SUCCESS": Stage.FIRST,
    "SUCCESS": Stage.COMPLETE,
}
# CALLBACK_EXCEPTION: delivering the callback failed, the result itself may be fine.
_FINISHED = frozenset({"SUCCESS", "CALLBACK_EXCEPTION"})
_MUSIC = TaskKind.MUSIC  # a module name: read off the Enum class, a member costs a call


@attrs.frozen
class Kind:
    """How tasks of one kind read.

    Attributes:
        query: the route that reads a task back, or ``None`` when none is known.
        callback: ``(task_id, code, msg, inner)`` of a callback -> its event.
        record: ``(task_id, data)`` of a record -> its latest event, ``None`` while queued.
        result: a ``complete`` event -> the final result, ``None`` when it is not usable.
    """

    query: str | None
    callback: Callable[[str, int, str, Mapping[str, Any]], TaskEvent]
    record: Callable[[str, Mapping[str, Any]], TaskEvent | None]
    result: Callable[[TaskEvent], Any]


def _failure(kind: TaskKind, task_id: str, data: Mapping[str, Any], status: str) -> TaskEvent:
    message = str(data.get("errorMessage") or "") or status
    return TaskEvent(task_id, kind, Stage.ERROR, code_of(data.get("errorCode"), 500), message)


def _response(data: Mapping[str, Any]) -> Mapping[str, Any]:
    response = data.get("response") or {}
    if not isinstance(response, Mapping):
        raise WireFormatError("'response' must be an object")
    return response


# --- music: generate, extend, upload-cover, upload-extend, add-*, replace-section ---


def _music_callback(task_id: str, code: int, msg: str, inner: Mapping[str, Any]) -> TaskEvent:
    ctype = inner.get("callbackType")
    if code != 200 or ctype in _FAILED_TYPES:
        return TaskEvent(task_id, TaskKind.MUSIC, Stage.ERROR, code, _error_text(msg, inner))
    stage = _MUSIC_STAGES.get(ctype) if ctype is not None else None
    if stage is None:
        raise WireFormatError(f"unknown callbackType {ctype!r}; expected text, first or complete")
    return TaskEvent(task_id, _MUSIC, stage, code, msg, each(inner, "data", Track))


def _music_record(task_id: str, data: Mapping[str, Any]) -> TaskEvent | None:
    status = str(data.get("status") or "PENDING")
    if status.endswith(("_FAILED", "_ERROR")):
        return _failure(TaskKind.MUSIC, task_id, data, status)
    stage = Stage.COMPLETE if status in _FINISHED else _MUSIC_STATUS.get(status)
    if stage is None:
        return None
    tracks = each(_response(data), "sunoData", Track)
    return TaskEvent(task_id, TaskKind.MUSIC, stage, 200, "", tracks=tracks)


def _music_result(event: TaskEvent) -> MusicResult | None:
    for track in event.tracks:  # a plain loop: this runs for every callback
        if not track.audio_url:
            return None
    return MusicResult(event.task_id, event.tracks) if event.tracks else None


def _error_text(msg: str, inner: Mapping[str, Any]) -> str:
    # One vendor's failure carries a string 'error' beside the message (PROTOCOL-TRANSFORM §3.1).
    error = inner.get("error")
    return f"{msg}: {error}" if isinstance(error, str) and error and error != msg else msg


# --- lyrics ---


def _lyrics_callback(task_id: str, code: int, msg: str, inner: Mapping[str, Any]) -> TaskEvent:
    ctype = inner.get("callbackType")
    if code != 200 or ctype in _FAILED_TYPES:
        return TaskEvent(task_id, TaskKind.LYRICS, Stage.ERROR, code, msg)
    if ctype not in (None, "complete"):
        raise WireFormatError(f"unknown lyrics callbackType {ctype!r}")
    variants = each(inner, "data", LyricVariant)
    return TaskEvent(task_id, TaskKind.LYRICS, Stage.COMPLETE, code, msg, variants=variants)


def _lyrics_record(task_id: str, data: Mapping[str, Any]) -> TaskEvent | None:
    status = str(data.get("status") or "PENDING")
    if status.endswith(("_FAILED", "_ERROR")):
        return _failure(TaskKind.LYRICS, task_id, data, status)
    if status not in _FINISHED:
        return None
    variants = each(_response(data), "data", LyricVariant)
    return TaskEvent(task_id, TaskKind.LYRICS, Stage.COMPLETE, 200, "", variants=variants)


def _lyrics_result(event: TaskEvent) -> LyricsResult | None:
    return LyricsResult(event.task_id, event.variants) if event.variants else None


# --- cover art ---


def _cover_callback(task_id: str, code: int, msg: str, inner: Mapping[str, Any]) -> TaskEvent:
    images = each(inner, "images", str)
    failed = code != 200 or inner.get("callbackType") in _FAILED_TYPES
    stage = Stage.ERROR if failed else Stage.COMPLETE
    return TaskEvent(task_id, TaskKind.COVER, stage, code, msg, images=images)


def _cover_record(task_id: str, data: Mapping[str, Any]) -> TaskEvent | None:
    flag = code_of(data.get("successFlag"), 0)
    if flag == 3:
        return _failure(TaskKind.COVER, task_id, data, "GENERATE_COVER_FAILED")
    if flag != 1:
        return None
    images = each(_response(data), "images", str)
    return TaskEvent(task_id, TaskKind.COVER, Stage.COMPLETE, 200, "", images=images)


def _cover_result(event: TaskEvent) -> CoverResult | None:
    return CoverResult(event.task_id, event.images) if event.images else None


# --- one-callback kinds: stems, WAV, video, persona ---

_URL_KEY = re.compile(r"^(?P<name>[a-z][a-z_]*?)_url$")
_CAMEL_URL_KEY = re.compile(r"^(?P<name>[a-z][A-Za-z]*?)Url$")


def _stem_urls(info: Mapping[str, Any]) -> dict[str, str]:
    """Stem name -> URL of a split's result object, in either spelling; the source
    (``origin``) and empty ones left out."""
    stems: dict[str, str] = {}
    for key, value in info.items():
        match = _URL_KEY.match(key) or _CAMEL_URL_KEY.match(key)
        if match is None or not isinstance(value, str) or not value:
            continue
        name = re.sub(r"(?<!^)(?=[A-Z])", "_", match["name"]).lower()
        if name != "origin":
            stems[name] = value
    return stems


def _one_callback(
    kind: TaskKind, read: Callable[[Mapping[str, Any]], dict[str, str]]
) -> Callable[[str, int, str, Mapping[str, Any]], TaskEvent]:
    """A one-stage callback: ``complete`` with ``read``'s outputs on success, else ``error``."""

    def callback(task_id: str, code: int, msg: str, inner: Mapping[str, Any]) -> TaskEvent:
        # kie documents 0 as success for the video callback (PROTOCOL-TRANSFORM.md Q9).
        if code not in (200, 0) or inner.get("callbackType") in _FAILED_TYPES:
            return TaskEvent(task_id, kind, Stage.ERROR, code, _error_text(msg, inner))
        return TaskEvent(task_id, kind, Stage.COMPLETE, 200, msg, outputs=read(inner))

    return callback


def _one_record(
    kind: TaskKind, read: Callable[[Mapping[str, Any]], dict[str, str]]
) -> Callable[[str, Mapping[str, Any]], TaskEvent | None]:
    """A record whose ``successFlag`` is a status string (PENDING, SUCCESS, *_FAILED)."""

    def record(task_id: str, data: Mapping[str, Any]) -> TaskEvent | None:
        status = str(data.get("successFlag") or data.get("status") or "PENDING")
        if status.endswith(("_FAILED", "_ERROR")):
            return _failure(kind, task_id, data, status)
        if status not in _FINISHED:
            return None
        return TaskEvent(task_id, kind, Stage.COMPLETE, 200, "", outputs=read(_response(data)))

    return record


def _stems_info(inner: Mapping[str, Any]) -> dict[str, str]:
    for key in ("vocal_removal_info", "vocal_separation_info"):
        info = inner.get(key)
        if isinstance(info, Mapping):
            return _stem_urls(info)
    return _stem_urls(inner)  # a record's response, or an info object given flat


def _first_text(inner: Mapping[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = inner.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def _outputs(**values: str | None) -> dict[str, str]:
    return {name: value for name, value in values.items() if value}


def _wav(inner: Mapping[str, Any]) -> dict[str, str]:
    return _outputs(wav=_first_text(inner, "audioWavUrl", "audio_wav_url"))


def _video(inner: Mapping[str, Any]) -> dict[str, str]:
    return _outputs(video=_first_text(inner, "video_url", "videoUrl"))


def _persona(inner: Mapping[str, Any]) -> dict[str, str]:
    nested = inner.get("data")
    found: Mapping[str, Any] = nested if isinstance(nested, Mapping) else inner
    return _outputs(
        persona_id=_first_text(found, "personaId", "persona_id"),
        name=_first_text(found, "name"),
        description=_first_text(found, "description"),
    )


def _stems_result(event: TaskEvent) -> StemsResult | None:
    stems = event.outputs
    if not stems:
        return None
    return StemsResult(event.task_id, stems.get("vocal"), stems.get("instrumental"), dict(stems))


def _wav_result(event: TaskEvent) -> WavResult | None:
    url = event.outputs.get("wav")
    return WavResult(event.task_id, url) if url else None


def _video_result(event: TaskEvent) -> VideoResult | None:
    url = event.outputs.get("video")
    return VideoResult(event.task_id, url) if url else None


def persona_of(outputs: Mapping[str, str]) -> Persona | None:
    """The persona in these outputs (of a callback or of a synchronous answer), if any."""
    persona_id = outputs.get("persona_id")
    if not persona_id:
        return None
    return Persona(persona_id, outputs.get("name", ""), outputs.get("description", ""))


def read_persona(data: Any) -> Persona | None:
    """The persona in a synchronous answer's ``data``, or ``None`` (e.g. only a task id)."""
    return persona_of(_persona(data)) if isinstance(data, Mapping) else None


def _no_record(task_id: str, data: Mapping[str, Any]) -> TaskEvent | None:
    raise WireFormatError("this kind of task has no record to read")


KINDS: Mapping[TaskKind, Kind] = {
    TaskKind.MUSIC: Kind("/suno/query/task", _music_callback, _music_record, _music_result),
    TaskKind.LYRICS: Kind("/suno/query/lyrics", _lyrics_callback, _lyrics_record, _lyrics_result),
    TaskKind.COVER: Kind("/suno/query/cover", _cover_callback, _cover_record, _cover_result),
    TaskKind.STEMS: Kind(
        "/suno/query/vocal-removal",
        _one_callback(TaskKind.STEMS, _stems_info),
        _one_record(TaskKind.STEMS, _stems_info),
        _stems_result,
    ),
    TaskKind.WAV: Kind(
        "/suno/query/wav",
        _one_callback(TaskKind.WAV, _wav),
        _one_record(TaskKind.WAV, _wav),
        _wav_result,
    ),
    TaskKind.VIDEO: Kind(
        "/suno/query/mp4",
        _one_callback(TaskKind.VIDEO, _video),
        _one_record(TaskKind.VIDEO, _video),
        _video_result,
    ),
    TaskKind.PERSONA: Kind(
        None,
        _one_callback(TaskKind.PERSONA, _persona),
        _no_record,
        lambda event: persona_of(event.outputs),
    ),
}


def parse_callback(kind: TaskKind, body: Any) -> TaskEvent:
    """The event a callback body reports, for a task of ``kind``."""
    code, msg, inner = split_envelope(body)
    task_id = task_id_of(inner)
    if task_id is None:
        raise WireFormatError("the callback carries no task id ('task_id' or 'taskId')")
    ctype = inner.get("callbackType")
    if ctype is not None and not isinstance(ctype, str):
        raise WireFormatError(f"callbackType must be a string, got {type(ctype).__name__}")
    return KINDS[kind].callback(task_id, code, msg, inner)


def parse_record(kind: TaskKind, data: Any) -> TaskEvent | None:
    """The latest event a query record shows, or ``None`` while the task is still queued."""
    if not isinstance(data, Mapping):
        raise WireFormatError("a task record must be a JSON object")
    return KINDS[kind].record(task_id_of(data) or "", data)
