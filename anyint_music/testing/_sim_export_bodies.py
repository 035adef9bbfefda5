"""Wire shapes of the simulated gateway's one-stage export tasks: the callbacks and query records
of vocal-removal / split-stem, WAV and MP4 tasks, and the persona callback of
`FakeGateway.persona_as_task` (PROTOCOL-TRANSFORM §8, §9, §12, §13)."""

from __future__ import annotations

from typing import Any

from ._sim_bodies import epoch_ms
from ._sim_records import SimTask

__all__ = ["FAILED_STATUS", "STEM_KEYS", "export_callback", "export_record"]

# The status a failed task of each kind reports (the persona task has no record).
FAILED_STATUS = {
    "vocal": "GENERATE_AUDIO_FAILED",
    "wav": "GENERATE_WAV_FAILED",
    "mp4": "GENERATE_MP4_FAILED",
    "persona": "GENERATE_PERSONA_FAILED",
}
# The result URLs of each stem type, as the callback spells them (§9.3).
STEM_KEYS = {
    "separate_vocal": ("instrumental_url", "origin_url", "vocal_url"),
    "split_stem": (
        "origin_url",
        "vocal_url",
        "backing_vocals_url",
        "drums_url",
        "bass_url",
        "guitar_url",
        "keyboard_url",
        "percussion_url",
        "strings_url",
        "synth_url",
        "fx_url",
        "brass_url",
        "woodwinds_url",
    ),
}
# Every URL of kie's vocal-removal record (§9.4), callback spelling -> record spelling.
_SPLIT = STEM_KEYS["split_stem"]
_RECORD_STEMS = {
    key: "".join(p.capitalize() if i else p for i, p in enumerate(key.split("_")))
    for key in ("origin_url", "instrumental_url", *_SPLIT[1:6], "piano_url", *_SPLIT[6:])
}
_VOCAL_MESSAGES = {
    False: ("vocal_removal_info", "vocal Removal generated successfully."),  # sunoapi
    True: ("vocal_separation_info", "vocal separation generated successfully."),  # kie
}


def _vocal(result: dict[str, Any] | None, kie: bool) -> tuple[str, dict[str, Any]]:
    key, msg = _VOCAL_MESSAGES[kie]
    return msg, {key: result}


def _wav(result: dict[str, Any] | None, kie: bool) -> tuple[str, dict[str, Any]]:
    url = result["audioWavUrl"] if result is not None else None
    return "success", {"audio_wav_url" if kie else "audioWavUrl": url}


def _mp4(result: dict[str, Any] | None, kie: bool) -> tuple[str, dict[str, Any]]:
    return "MP4 generated successfully.", {"video_url": result["video_url"] if result else None}


def _persona(result: dict[str, Any] | None, kie: bool) -> tuple[str, dict[str, Any]]:
    return "success", dict(result) if result is not None else {"personaId": None}


_CALLBACKS = {"vocal": _vocal, "wav": _wav, "mp4": _mp4, "persona": _persona}


def export_callback(
    sim: SimTask,
    result: dict[str, Any] | None,
    *,
    kie: bool,
    unwrapped: bool,
    failure: tuple[int, str] | None,
) -> dict[str, Any]:
    """Build the one callback of an export task; `result` ``None`` (with `failure`) builds
    the failure body: the result field(s) ``null``.

    Args:
        sim: The task.
        result: What the task made (`SimTask.result`'s one dict), or ``None`` when it failed.
        kie: kie.ai's spelling (``vocal_separation_info``, ``audio_wav_url``).
        unwrapped: Send only the ``data`` object, as AnyInt's music example does.
        failure: The failure code and message.
    """
    msg, fields = _CALLBACKS[sim.kind](result, kie)
    data = {"task_id": sim.id, **fields}
    if unwrapped:
        return data
    code, msg = failure if failure is not None else (200, msg)
    return {"code": code, "msg": msg, "data": data}


def _record_response(sim: SimTask) -> dict[str, Any] | None:
    if sim.status != "SUCCESS" or not sim.result:
        return None
    result: dict[str, Any] = sim.result[0]
    if sim.kind == "wav":
        return {"audioWavUrl": result["audioWavUrl"]}
    if sim.kind == "mp4":
        return {"videoUrl": result["video_url"]}
    return {camel: result.get(snake) or None for snake, camel in _RECORD_STEMS.items()}


def export_record(sim: SimTask, music_index: int) -> dict[str, Any]:
    """Build the query record of a vocal, WAV or MP4 task in its current state (§9.4, §12.4,
    §13.4): camelCase keys, a string ``successFlag``, epoch-millisecond times.

    Args:
        sim: The task.
        music_index: The position of the source track in its music task.
    """
    record: dict[str, Any] = {
        "taskId": sim.id,
        "musicId": sim.parent_audio_id,
        "callbackUrl": sim.callback_url,
    }
    if sim.kind != "wav":
        record["musicIndex"] = music_index
    record.update(
        completeTime=epoch_ms(sim.complete_time),
        response=_record_response(sim),
        successFlag=sim.status,
        createTime=epoch_ms(sim.create_time),
        errorCode=sim.error_code,
        errorMessage=sim.error_message,
    )
    return record
