"""Records the simulated gateway keeps: requests received, callbacks sent, tasks made.

The public names are re-exported from `anyint_music.testing._gateway`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import attrs

__all__ = ["DeliveredCallback", "RecordedRequest", "SimTask", "TaskKind"]

TaskKind = Literal["music", "lyrics", "cover", "vocal", "wav", "mp4", "persona"]

_SECRET_HEADERS = frozenset({"authorization", "x-api-key"})


def _redacted_headers(headers: dict[str, str]) -> str:
    # Recorded headers keep the real value for assertions; only the repr hides it, so a failing
    # test that prints `gw.requests` never shows a key.
    shown = {k: ("<redacted>" if k.lower() in _SECRET_HEADERS else v) for k, v in headers.items()}
    return repr(shown)


@attrs.frozen
class RecordedRequest:
    """One HTTP request the simulated gateway received, in arrival order.

    Attributes:
        method: The HTTP method, e.g. ``"POST"``.
        path: The request path without the query string, e.g. ``"/suno/generate"``.
        query: The query parameters (last value wins for repeated names).
        headers: The request headers as sent (the ``repr`` hides ``Authorization``).
        json: The body parsed as JSON, or ``None`` when it was empty or not valid JSON.
        text: The raw body text.
    """

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str] = attrs.field(repr=_redacted_headers)
    json: Any
    text: str


@attrs.frozen
class DeliveredCallback:
    """One attempt to deliver a callback to a ``callBackUrl``.

    Every attempt is recorded: the first one, each retry after a failure, each duplicate copy
    requested through `FakeGateway.duplicates` or made by chaos (`Chaos.duplicate`), and each
    one sent by hand from the inspector (a copy of its own, never retried).

    Attributes:
        url: The ``callBackUrl`` the body was POSTed to.
        body: The JSON body that was sent.
        task_id: The task the callback belongs to.
        stage: ``"text"``, ``"first"``, ``"complete"`` or ``"error"`` for music tasks,
            ``"lyrics"`` for lyrics tasks, ``"cover"`` for cover tasks, ``"vocal"`` for
            vocal-removal and split-stem tasks, ``"wav"``, ``"mp4"`` and ``"persona"`` for WAV,
            MP4 and (with `FakeGateway.persona_as_task`) persona tasks.
        attempt: 1 for the first attempt of a delivery, 2 and up for its retries.
        status: The receiver's HTTP status, or ``None`` when the connection failed or timed out.
        time: Wall-clock time (``time.time()``) when the attempt started.
        copy: 0 for the original delivery, 1 and up for duplicate copies.
        error: A short description of the connection failure or timeout, else ``None``.
        latency: Seconds from the start of the attempt until the answer was read or the
            attempt failed.
    """

    url: str
    body: dict[str, Any]
    task_id: str
    stage: str
    attempt: int
    status: int | None
    time: float
    copy: int = 0
    error: str | None = None
    latency: float = 0.0

    @property
    def ok(self) -> bool:
        """Whether the receiver answered HTTP 200 (the only answer that stops redelivery)."""
        return self.status == 200


@attrs.define
class SimTask:
    """The simulator's live record of one task it created. Treat it as read-only.

    Attributes:
        id: The task id (32 lowercase hex characters).
        kind: ``"music"`` (generate, extend, upload-cover, upload-extend, add-vocals,
            add-instrumental, replace-section), ``"lyrics"``, ``"cover"``, ``"vocal"``
            (vocal-removal, split-stem), ``"wav"``, ``"mp4"`` or ``"persona"``.
        route: The route that created it, e.g. ``"/suno/generate"``.
        request: The JSON body of the creating request.
        callback_url: The ``callBackUrl`` from the request; ``""`` for a replace-section task
            asked for without one (it sends no callbacks).
        status: Progress as the query routes report it. Music: ``PENDING``, ``TEXT_SUCCESS``,
            ``FIRST_SUCCESS``, ``SUCCESS`` or ``GENERATE_AUDIO_FAILED``. Lyrics: ``PENDING``,
            ``SUCCESS`` or ``GENERATE_LYRICS_FAILED``. Cover: ``PENDING``, ``GENERATING``,
            ``SUCCESS`` or ``GENERATE_COVER_FAILED``. Vocal: ``PENDING``, ``SUCCESS`` or
            ``GENERATE_AUDIO_FAILED``; WAV: ``GENERATE_WAV_FAILED``; MP4:
            ``GENERATE_MP4_FAILED``; persona: ``GENERATE_PERSONA_FAILED`` (it has no record).
        stage: The last callback stage reached (whether or not it was delivered), or ``None``.
        result: Set once the task succeeded: the tracks (snake_case callback form) for music
            (two for generate, extend and upload-cover, one for the other music routes), the
            lyric variants for lyrics, the image URLs for a cover, and one dict for the others:
            the callback's ``vocal_removal_info``, ``{"audioWavUrl": url}``,
            ``{"video_url": url}`` or ``{"personaId", "name", "description"}``.
        error_code: The failure code when the task failed.
        error_message: The failure message when the task failed.
        parent_task_id: For an extension, a replace-section, vocal-removal, split-stem, WAV,
            MP4 or persona task, the task of the source track; for a cover, the music task it
            illustrates.
        parent_audio_id: For those tasks, the source track's audio id.
        cover_task_id: For a music task, the id of its cover task once one was requested.
        create_time: When the task was created (UTC).
        complete_time: When the task reached a final status (UTC).
    """

    id: str
    kind: TaskKind
    route: str
    request: dict[str, Any]
    callback_url: str
    create_time: datetime
    status: str = "PENDING"
    stage: str | None = None
    result: list[Any] | None = None
    error_code: int | None = None
    error_message: str | None = None
    parent_task_id: str | None = None
    parent_audio_id: str | None = None
    cover_task_id: str | None = None
    complete_time: datetime | None = None

    @property
    def finished(self) -> bool:
        """Whether the task reached a final status (success or failure)."""
        return self.complete_time is not None
