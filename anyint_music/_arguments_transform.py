"""The arguments of the transform and export routes, declared once (see ``_arguments``).

Wire reference: PROTOCOL-TRANSFORM.md. Only what every documented version agrees on is checked
here; limits the versions disagree on are left to the service's answer.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Unpack

from . import _validate as check
from ._arguments import SongTuning, Weights, given
from ._models import Model, StemType

Fields = Mapping[str, Any]


def upload_cover(
    upload_url: str | os.PathLike[str],
    *,
    model: Model | str,
    custom_mode: bool = False,
    instrumental: bool = False,
    prompt: str | None = None,
    style: str | None = None,
    title: str | None = None,
    timeout: float | None = None,
    **options: Unpack[SongTuning],
) -> Fields:
    """Make a new version (a cover) of your own recording, and wait for it.

    ``upload_url`` is the source audio (up to 8 minutes; 1 with ``V4_5ALL``): an http(s) URL
    the service can fetch, or a local file, which this client's receiver serves to the service
    at an unguessable URL until the task ends (see README, "Local files as input"). The other
    arguments follow :meth:`generate`'s simple and custom modes.

    Args:
        upload_url: the source recording: a URL, or a path to a local file.
        model, custom_mode, instrumental, prompt, style, title, persona_id, persona_model,
            negative_tags, vocal_gender, style_weight, weirdness_constraint, audio_weight:
            as for :meth:`generate`.
        timeout: seconds to wait; default the client's.

    Returns:
        The finished :class:`MusicResult`.

    Raises:
        InvalidRequestError: an argument breaks a documented rule, or the file is missing
            (nothing was sent).
        APIError, TaskFailedError, TaskTimeoutError: as for :meth:`generate`.
    """
    return check.upload_cover(given("upload_cover", locals(), SongTuning))


def upload_extend(
    upload_url: str | os.PathLike[str],
    *,
    model: Model | str,
    default_param_flag: bool = False,
    continue_at: float | None = None,
    instrumental: bool = False,
    prompt: str | None = None,
    style: str | None = None,
    title: str | None = None,
    timeout: float | None = None,
    **options: Unpack[SongTuning],
) -> Fields:
    """Continue your own recording, and wait for the longer song.

    As :meth:`extend`, with an uploaded source: with ``default_param_flag=True``, ``style``,
    ``title`` and ``continue_at`` (a second within the uploaded audio) are required, and
    ``prompt`` (lyrics) unless ``instrumental``.

    Args:
        upload_url: the source recording: a URL, or a path to a local file (served as for
            :meth:`upload_cover`).
        model: the model to continue with.
        default_param_flag, continue_at, prompt, style, title: as for :meth:`extend`.
        instrumental: no vocals in the continuation.
        persona_id, persona_model, negative_tags, vocal_gender, style_weight,
            weirdness_constraint, audio_weight: as for :meth:`generate`.
        timeout: seconds to wait; default the client's.

    Returns:
        The finished :class:`MusicResult`.

    Raises:
        InvalidRequestError, APIError, TaskFailedError, TaskTimeoutError: as for
        :meth:`upload_cover`.
    """
    return check.upload_extend(given("upload_extend", locals(), SongTuning))


def add_vocals(
    upload_url: str | os.PathLike[str],
    *,
    prompt: str,
    title: str,
    style: str,
    negative_tags: str,
    model: Model | str | None = None,
    timeout: float | None = None,
    **options: Unpack[Weights],
) -> Fields:
    """Sing over an instrumental, and wait for the song.

    Args:
        upload_url: the instrumental: a URL, or a path to a local file.
        prompt: the lyrics and how to sing them.
        title: the song's title.
        style: the music and vocal style.
        negative_tags: vocal styles or traits to avoid.
        model: ``V4_5PLUS`` (the service's default) or ``V5``.
        vocal_gender, style_weight, weirdness_constraint, audio_weight: as for
            :meth:`generate`.
        timeout: seconds to wait; default the client's.

    Returns:
        The finished :class:`MusicResult`.

    Raises:
        InvalidRequestError, APIError, TaskFailedError, TaskTimeoutError: as for
        :meth:`upload_cover`.
    """
    return check.add_vocals(given("add_vocals", locals(), Weights))


def add_instrumental(
    upload_url: str | os.PathLike[str],
    *,
    title: str,
    tags: str,
    negative_tags: str,
    model: Model | str | None = None,
    timeout: float | None = None,
    **options: Unpack[Weights],
) -> Fields:
    """Put an accompaniment under a vocal or melody track, and wait for the song.

    Args:
        upload_url: the vocals or melody: a URL, or a path to a local file.
        title: the song's title.
        tags: the accompaniment's style, e.g. ``"relaxing, piano"``.
        negative_tags: styles to avoid.
        model: ``V4_5PLUS`` (the service's default) or ``V5``.
        vocal_gender, style_weight, weirdness_constraint, audio_weight: as for
            :meth:`generate`.
        timeout: seconds to wait; default the client's.

    Returns:
        The finished :class:`MusicResult`.

    Raises:
        InvalidRequestError, APIError, TaskFailedError, TaskTimeoutError: as for
        :meth:`upload_cover`.
    """
    return check.add_instrumental(given("add_instrumental", locals(), Weights))


def replace_section(
    task_id: str,
    audio_id: str,
    *,
    prompt: str,
    tags: str,
    title: str,
    infill_start_s: float,
    infill_end_s: float,
    full_lyrics: str | None = None,
    negative_tags: str | None = None,
    timeout: float | None = None,
) -> Fields:
    """Replace a section of a finished track with new music and lyrics, and wait for it.

    The service takes sections of 6 to 60 seconds (newer versions: at least 10) and at most
    half the track; times are rounded to hundredths.

    Args:
        task_id: the task that made the track.
        audio_id: the track's ``id``.
        prompt: the lyrics of the new section.
        tags: its style.
        title: the track's title.
        infill_start_s: where the section starts, in seconds.
        infill_end_s: where it ends, in seconds.
        full_lyrics: the whole song's lyrics with the section replaced.
        negative_tags: styles to avoid.
        timeout: seconds to wait; default the client's.

    Returns:
        The finished :class:`MusicResult`.

    Raises:
        InvalidRequestError, APIError, TaskFailedError, TaskTimeoutError: as for
        :meth:`generate`.
    """
    return check.replace_section(locals())


def vocal_removal(
    task_id: str,
    audio_id: str,
    *,
    type: StemType | str = StemType.SEPARATE_VOCAL,
    timeout: float | None = None,
) -> Fields:
    """Split a finished track into vocals and accompaniment, or into every stem, and wait.

    Args:
        task_id: the task that made the track.
        audio_id: the track's ``id``.
        type: ``"separate_vocal"`` (vocals and instrumental) or ``"split_stem"`` (up to 12
            stems: vocals, backing vocals, drums, bass, guitar, keyboard, ...). Each call is
            billed again.
        timeout: seconds to wait; default the client's.

    Returns:
        The finished :class:`StemsResult`.

    Raises:
        InvalidRequestError, APIError, TaskFailedError, TaskTimeoutError: as for
        :meth:`generate`.
    """
    return {**check.track(locals()), "type": check.enum_value(StemType, type, "type")}


def split_stem(task_id: str, audio_id: str, *, timeout: float | None = None) -> Fields:
    """Split a finished track into its stems, and wait for them.

    AnyInt documents no body for this route: the client sends the track (``taskId``,
    ``audioId``) and reads the answer as :meth:`vocal_removal`'s. For a documented route to
    the same result, use ``vocal_removal(..., type="split_stem")``.

    Returns:
        The finished :class:`StemsResult`.

    Raises:
        InvalidRequestError, APIError, TaskFailedError, TaskTimeoutError: as for
        :meth:`generate`.
    """
    return check.track(locals())


def wav_generate(task_id: str, audio_id: str, *, timeout: float | None = None) -> Fields:
    """Export a finished track as WAV, and wait for the file's URL.

    The service keeps one WAV per track: asking again is refused with a
    :class:`ConflictError`.

    Returns:
        The finished :class:`WavResult`.

    Raises:
        InvalidRequestError, APIError, TaskFailedError, TaskTimeoutError: as for
        :meth:`generate`.
    """
    return check.track(locals())


def mp4_generate(
    task_id: str,
    audio_id: str,
    *,
    author: str | None = None,
    domain_name: str | None = None,
    timeout: float | None = None,
) -> Fields:
    """Make a music video (MP4) of a finished track, and wait for it.

    Args:
        task_id: the task that made the track.
        audio_id: the track's ``id``.
        author: a signature shown on the video (at most 50 characters).
        domain_name: a watermark at the bottom (at most 50 characters).
        timeout: seconds to wait; default the client's.

    Returns:
        The finished :class:`VideoResult`.

    Raises:
        InvalidRequestError, APIError, TaskFailedError, TaskTimeoutError: as for
        :meth:`generate`.
    """
    return {
        **check.track(locals()),
        "author": check.short_text(author, "author", 50),
        "domain_name": check.short_text(domain_name, "domain_name", 50),
    }


def generate_persona(
    task_id: str,
    audio_id: str,
    *,
    name: str,
    description: str,
    vocal_start: float | None = None,
    vocal_end: float | None = None,
    style: str | None = None,
    timeout: float | None = None,
) -> Fields:
    """Keep the voice of a finished track as a reusable persona.

    The service answers at once; should it answer with a task id instead, this waits for the
    task (at most ``timeout``). One persona per track: asking again is refused with a
    :class:`ConflictError`.

    Args:
        task_id: the generate, extend or upload task that made the track.
        audio_id: the track's ``id``.
        name: the persona's name.
        description: what the voice is like.
        vocal_start: where the voice to learn starts, in seconds (the service's default 0).
        vocal_end: where it ends (default 30); the span must be 10 to 30 seconds.
        style: a style label for the persona.
        timeout: seconds to wait; default the client's.

    Returns:
        The :class:`Persona`; pass its ``persona_id`` to :meth:`generate` (custom mode),
        :meth:`extend` or the upload routes.

    Raises:
        InvalidRequestError, APIError, TaskTimeoutError: as for :meth:`generate`.
        ConflictError: this track already has a persona.
    """
    return check.persona(locals())
