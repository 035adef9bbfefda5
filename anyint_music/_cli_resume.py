"""Picking a task up again by id: ``wait`` follows it to its end and saves its result as the
command that made it would have; ``status`` shows where it is now, without waiting.

A task goes on at the service whatever happened to the command that submitted it (Ctrl-C, a
lost connection, a timeout), and that command printed the ``wait`` that picks it up. ``wait``
re-attaches with ``client.task``: a task of another process is followed by polling its record
(at once, then every 2 s, growing to every 8 s), since its callbacks go to the receiver of the
process that submitted it. ``status`` reads the record once.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

from . import Stage, TaskEvent, TaskKind
from ._cli_batch import Job, run_batch
from ._cli_board import Row
from ._cli_finish import (
    finish_cover,
    finish_lyrics,
    finish_music,
    finish_stems,
    finish_video,
    finish_wav,
    prepare_out,
)
from ._cli_output import CommandError, clock
from ._cli_session import Session, track_json
from ._cli_stop import resumable, resume_command

# How often a re-attached task's record is read: first after this many seconds, then growing
# (x1.5 a time) to at most the second. Callbacks cannot reach this process (they go to the one
# that submitted it), so the record is all there is.

_FIRST_WAIT = {
    TaskKind.MUSIC: "waiting for the music",
    TaskKind.LYRICS: "waiting for the lyrics",
    TaskKind.COVER: "waiting for the cover art",
    TaskKind.STEMS: "waiting for the stems",
    TaskKind.WAV: "waiting for the WAV",
    TaskKind.VIDEO: "waiting for the video",
}


async def _finish(session: Session, result: Any, args: argparse.Namespace) -> None:
    """Save ``result`` as the command that makes its kind saves it."""
    kind = TaskKind(args.kind)
    if kind is TaskKind.MUSIC:
        await finish_music(session, result, args)
    elif kind is TaskKind.LYRICS:
        await finish_lyrics(session, result, args)
    elif kind is TaskKind.COVER:
        await finish_cover(session, result, args, song=args.song or result.task_id)
    elif kind is TaskKind.STEMS:
        await finish_stems(session, result, args)
    elif kind is TaskKind.WAV:
        await finish_wav(session, result, args)
    else:
        await finish_video(session, result, args)


@resumable
async def wait(session: Session, args: argparse.Namespace) -> None:
    """``wait TASK_ID... --kind KIND``: follow each task to its end and save its result."""
    kind = TaskKind(args.kind)
    if args.song and kind is not TaskKind.COVER:
        raise CommandError("--song names the images of a cover task: use it with --kind cover", 2)
    if kind is not TaskKind.LYRICS and args.out is None:
        args.out = "."  # lyrics are saved only when --out is given, as `lyrics` does
    prepare_out(args)
    client = session.client
    ids = list(dict.fromkeys(args.task_ids))  # each task once
    if len(ids) == 1:
        task = session.attach(client.task(ids[0], kind=kind))
        await _finish(session, await session.follow(task, _FIRST_WAIT[kind]), args)
        return

    def attach(task_id: str) -> Any:
        async def start(each: Session) -> Any:
            return each.attach(client.task(task_id, kind=kind))

        return start

    jobs = [Job(Row(None, task_id), attach(task_id), _FIRST_WAIT[kind], _finish) for task_id in ids]
    await run_batch(session, args, jobs, concurrency=len(jobs))


async def status(session: Session, args: argparse.Namespace) -> None:
    """``status TASK_ID --kind KIND``: the task's stage and result now (one read of its
    record); ``--json`` gives it as one object."""
    kind = TaskKind(args.kind)
    event: TaskEvent | None = await session.ask(
        session.client.peek(args.task_id, kind=kind), "reading the task's record"
    )
    stage = event.stage.value if event is not None else "pending"
    finished = event is not None and event.is_final
    fields: dict[str, Any] = {
        "task_id": args.task_id,
        "kind": kind.value,
        "stage": stage,
        "finished": finished,
    }
    if event is not None:
        fields.update(_result_fields(event))
    out = session.out
    out.emit("status", None, **fields)
    out.say(f"task      {args.task_id}  ({kind.value})")
    out.say(f"stage     {_stage_text(event)}")
    for track in event.tracks if event is not None else ():
        out.say(f'track     "{track.title}"  {clock(track.duration)}  id {track.id}')
        urls = (
            ("audio", track.audio_url),
            ("stream", track.stream_audio_url),
            ("art", track.image_url),
        )
        for name, url in urls:
            if url:
                out.say(f"            {name:<7}{url}")
    for name, url in _urls(fields):
        out.say(f"{name:<10}{url}")
    for variant in fields.get("variants", ()):
        out.say(f'lyrics    "{variant["title"] or "Untitled"}"')
    if event is None or event.stage is not Stage.ERROR:
        verb = "to save it" if finished else "to wait for it"
        out.say(f"{verb}: {resume_command([args.task_id], kind, args)}")


def _result_fields(event: TaskEvent) -> dict[str, Any]:
    if event.stage is Stage.ERROR:
        return {"code": event.code, "message": event.message}
    fields: dict[str, Any] = {}
    if event.tracks:
        fields["tracks"] = [track_json(t) for t in event.tracks]
    if event.variants:
        fields["variants"] = [{"title": v.title, "text": v.text} for v in event.variants if v.ok]
    if event.images:
        fields["images"] = list(event.images)
    if event.outputs:
        fields["outputs"] = dict(event.outputs)
    return fields


def _stage_text(event: TaskEvent | None) -> str:
    if event is None:
        return "pending (no stage reported yet)"
    if event.stage is Stage.ERROR:
        return f"failed (code {event.code}): {event.message}"
    running = {Stage.TEXT: "lyrics ready", Stage.FIRST: "first track streamable"}
    return f"{event.stage.value} ({running.get(event.stage, 'finished')})"


def _urls(fields: Mapping[str, Any]) -> list[tuple[str, str]]:
    images = [(f"image {n}", url) for n, url in enumerate(fields.get("images", ()), 1)]
    return images + list(fields.get("outputs", {}).items())
