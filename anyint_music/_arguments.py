"""The arguments of every route, declared once: one function per route.

Each function's signature and docstring are those of the client's waiting method (and, with
``timeout`` as the task's default wait, of its ``submit_*`` form: see ``_routes.waiting`` and
``_routes.submitting``); type checkers read the signature through a ``ParamSpec``, ``help()``
shows it. Its body checks the arguments against the documented rules (``_validate``) and
returns the request's fields, before anything is sent.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any, TypedDict, Unpack

from . import _validate as check
from ._models import Model, PersonaModel, VocalGender

Fields = Mapping[str, Any]


class Weights(TypedDict, total=False):
    """The voice and weights every song-making route takes (documented at ``generate``)."""

    vocal_gender: VocalGender | str | None
    style_weight: float | None
    weirdness_constraint: float | None
    audio_weight: float | None


class SongTuning(Weights, total=False):
    """The tuning generate, extend and the upload routes share (documented at ``generate``)."""

    persona_id: str | None
    persona_model: PersonaModel | str | None
    negative_tags: str | None


@functools.cache
def _unset(options: type) -> dict[str, None]:
    return dict.fromkeys(options.__annotations__)


def given(method: str, values: Mapping[str, Any], options: type) -> dict[str, Any]:
    """A spec's arguments with its ``**options`` spread out (``None`` where not given); Python's
    own ``TypeError`` for a keyword the options do not have, as for any other keyword."""
    unset = _unset(options)
    extra: Mapping[str, Any] = values["options"]
    if extra and not extra.keys() <= unset.keys():
        unknown = extra.keys() - unset.keys()
        raise TypeError(f"{method}() got an unexpected keyword argument {min(unknown)!r}")
    # One dict, built at once: every call of a song route comes here.
    spread = {**unset, **values, **extra}
    del spread["options"]
    return spread


def generate(
    prompt: str | None = None,
    *,
    model: Model | str,
    instrumental: bool = False,
    custom_mode: bool = False,
    style: str | None = None,
    title: str | None = None,
    timeout: float | None = None,
    **options: Unpack[SongTuning],
) -> Fields:
    """Make a song (two tracks) and wait until both are finished.

    Simple mode (default): ``prompt`` describes the song (at most 500 characters) and the
    service writes the lyrics. Custom mode (``custom_mode=True``): ``style`` and ``title``
    are required and ``prompt`` is sung verbatim as the lyrics (not needed when
    ``instrumental=True``); limits per model: prompt 3000 (V4) / 5000, style 200 (V4) /
    1000, title 80 (V4, V4_5ALL) / 100.

    Args:
        prompt: the description (simple mode) or the lyrics (custom mode).
        model: a :class:`Model` or its name, e.g. ``Model.V5`` or ``"V5"``.
        instrumental: no vocals.
        custom_mode: use ``style``, ``title`` and ``prompt`` as given.
        style: style tags (custom mode).
        title: song title (custom mode).
        persona_id: a saved voice identity (custom mode).
        persona_model: which kind ``persona_id`` is.
        negative_tags: styles to avoid.
        vocal_gender: ``"m"`` or ``"f"``.
        style_weight: 0..1.
        weirdness_constraint: 0..1.
        audio_weight: 0..1.
        timeout: seconds to wait; default the client's.

    Returns:
        The finished :class:`MusicResult`.

    Raises:
        InvalidRequestError: an argument breaks a documented rule (nothing was sent).
        APIError: the gateway refused the request (a subclass says why).
        TaskFailedError: the service reported that generation failed.
        TaskTimeoutError: no result within ``timeout``.
    """
    return check.generate(given("generate", locals(), SongTuning))


def extend(
    audio_id: str,
    *,
    model: Model | str,
    default_param_flag: bool = False,
    continue_at: float | None = None,
    prompt: str | None = None,
    style: str | None = None,
    title: str | None = None,
    timeout: float | None = None,
    **options: Unpack[SongTuning],
) -> Fields:
    """Continue a track and wait for the extended song.

    With ``default_param_flag=False`` (default) everything is inherited from the source
    track. With ``True``, ``prompt`` (lyrics), ``style``, ``title`` and ``continue_at`` (the
    second to continue from, less than the track's duration) are required, with the same
    per-model limits as :meth:`generate`. ``model`` must match the source track's model.

    Args:
        audio_id: the track to continue (a ``Track.id``).
        model: the source track's model.
        default_param_flag: use ``prompt``, ``style``, ``title`` and ``continue_at``.
        continue_at: the second of the source track to continue from.
        prompt: the lyrics of the continuation.
        style, title, persona_id, persona_model, negative_tags, vocal_gender, style_weight,
            weirdness_constraint, audio_weight: as for :meth:`generate`.
        timeout: seconds to wait; default the client's.

    Returns:
        The finished :class:`MusicResult`.

    Raises:
        InvalidRequestError, APIError, TaskFailedError, TaskTimeoutError: as for
        :meth:`generate`.
    """
    return check.extend(given("extend", locals(), SongTuning))


def generate_lyrics(prompt: str, *, timeout: float | None = None) -> Fields:
    """Write lyrics (several variants) from a description of at most 200 words.

    Returns:
        The :class:`LyricsResult`; pick a variant and pass its ``text`` as the ``prompt`` of
        ``generate(custom_mode=True, ...)``.

    Raises:
        InvalidRequestError, APIError, TaskTimeoutError: as for :meth:`generate`.
        TaskFailedError: the prompt was rejected, or no variant succeeded.
    """
    return {"prompt": check.lyrics_prompt(prompt)}


def generate_cover(task_id: str, *, timeout: float | None = None) -> Fields:
    """Make cover art (usually two images) for a finished music task and wait for it.

    The service makes one cover per music task: asking again gives the existing cover task
    (watched by polling when this client did not submit it).

    Returns:
        The finished :class:`CoverResult`.

    Raises:
        InvalidRequestError, APIError, TaskFailedError, TaskTimeoutError: as for
        :meth:`generate`.
    """
    return {"task_id": check.required_text(task_id, "task_id", "the id of a finished music task")}


def timestamped_lyrics(task_id: str, audio_id: str) -> Fields:
    """Word-level timings of a track's lyrics (empty for instrumentals).

    Args:
        task_id: the generate or extend task that made the track.
        audio_id: the track's ``id``.

    Returns:
        :class:`TimestampedLyrics`; ``to_lrc()``, ``to_srt()`` and ``to_vtt()`` write files.

    Raises:
        InvalidRequestError: an id is missing.
        APIError: the gateway refused (e.g. the ids do not belong together).
    """
    return {
        "task_id": check.required_text(task_id, "task_id"),
        "audio_id": check.required_text(audio_id, "audio_id"),
    }


def style_generate(content: str) -> Fields:
    """Turn a rough style hint into a richer style description.

    Returns:
        :class:`StyleResult`; ``.text`` is ready for ``generate(style=...)``.

    Raises:
        InvalidRequestError: ``content`` is empty.
        APIError: the gateway refused.
        TaskFailedError: the service answered that the boost failed.
    """
    return {"content": check.required_text(content, "content", "a short style hint")}
