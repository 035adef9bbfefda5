"""Values exchanged with the service: enums, requests, results and task events.

Field names are snake_case; ``_convert`` maps them to and from the wire's spellings.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any, Self

import attrs

from . import _subtitles
from ._subtitles import LyricLine


class Model(enum.StrEnum):
    """Generation models AnyInt accepts on its music routes."""

    V4 = "V4"
    V4_5 = "V4_5"
    V4_5PLUS = "V4_5PLUS"
    V4_5ALL = "V4_5ALL"
    V5 = "V5"


class VocalGender(enum.StrEnum):
    """Preferred singing voice (raises its probability; custom mode only)."""

    MALE = "m"
    FEMALE = "f"


class PersonaModel(enum.StrEnum):
    """Which kind of persona ``persona_id`` names."""

    STYLE = "style_persona"
    VOICE = "voice_persona"


class TaskKind(enum.StrEnum):
    """What a task produces; decides its callback shape and its query route.

    ``music`` covers every route that makes tracks (generate, extend, the upload, add and
    replace routes); ``stems`` vocal removal and stem splitting; ``persona`` only a persona
    the service makes as a task instead of answering at once.
    """

    MUSIC = "music"
    LYRICS = "lyrics"
    COVER = "cover"
    STEMS = "stems"
    WAV = "wav"
    VIDEO = "video"
    PERSONA = "persona"

    # As its equality is the string's, so is its hash (in C, not Enum's by name in Python): a
    # kind is a key on every callback's path.
    __hash__ = str.__hash__


class StemType(enum.StrEnum):
    """What ``vocal_removal`` makes: vocals and accompaniment, or every stem (up to 12)."""

    SEPARATE_VOCAL = "separate_vocal"
    SPLIT_STEM = "split_stem"


class Stage(enum.StrEnum):
    """A stage a task reports. Music reports text, first, complete; others only complete."""

    TEXT = "text"
    FIRST = "first"
    COMPLETE = "complete"
    ERROR = "error"


def _extra() -> Any:
    # Unknown wire keys are kept for the curious, but are not part of a value's identity (and
    # would make it unhashable).
    return attrs.field(factory=dict, repr=False, eq=False)


# --- requests: what the client sends (None fields are left out on the wire) ---


class Request:
    """A request body: its fields go out camelCased, the unset (None) ones left out."""


@attrs.frozen(kw_only=True)
class _SongRequest(Request):
    # The fields the song routes share (PROTOCOL.md §1.1, §2.1).
    model: Model
    call_back_url: str
    prompt: str | None = None
    style: str | None = None
    title: str | None = None
    persona_id: str | None = None
    persona_model: PersonaModel | None = None
    negative_tags: str | None = None
    vocal_gender: VocalGender | None = None
    style_weight: float | None = None
    weirdness_constraint: float | None = None
    audio_weight: float | None = None


@attrs.frozen(kw_only=True)
class GenerateRequest(_SongRequest):
    custom_mode: bool
    instrumental: bool


@attrs.frozen(kw_only=True)
class ExtendRequest(_SongRequest):
    audio_id: str
    default_param_flag: bool
    continue_at: float | None = None


@attrs.frozen(kw_only=True)
class UploadCoverRequest(GenerateRequest):
    upload_url: str


@attrs.frozen(kw_only=True)
class UploadExtendRequest(_SongRequest):
    upload_url: str
    default_param_flag: bool
    instrumental: bool
    continue_at: float | None = None


@attrs.frozen(kw_only=True)
class _AddRequest(Request):
    upload_url: str
    title: str
    negative_tags: str
    call_back_url: str
    model: Model | None = None
    vocal_gender: VocalGender | None = None
    style_weight: float | None = None
    weirdness_constraint: float | None = None
    audio_weight: float | None = None


@attrs.frozen(kw_only=True)
class AddVocalsRequest(_AddRequest):
    prompt: str
    style: str


@attrs.frozen(kw_only=True)
class AddInstrumentalRequest(_AddRequest):
    tags: str


@attrs.frozen(kw_only=True)
class TrackRequest(Request):
    # A finished track, for the routes that export or split it.
    task_id: str
    audio_id: str
    call_back_url: str


@attrs.frozen(kw_only=True)
class ReplaceSectionRequest(TrackRequest):
    prompt: str
    tags: str
    title: str
    infill_start_s: float
    infill_end_s: float
    full_lyrics: str | None = None
    negative_tags: str | None = None


@attrs.frozen(kw_only=True)
class VocalRemovalRequest(TrackRequest):
    type: StemType


@attrs.frozen(kw_only=True)
class VideoRequest(TrackRequest):
    author: str | None = None
    domain_name: str | None = None


@attrs.frozen(kw_only=True)
class PersonaRequest(TrackRequest):
    name: str
    description: str
    vocal_start: float | None = None
    vocal_end: float | None = None
    style: str | None = None


@attrs.frozen
class LyricsRequest(Request):
    prompt: str
    call_back_url: str


@attrs.frozen
class CoverRequest(Request):
    task_id: str
    call_back_url: str


@attrs.frozen
class TimestampedLyricsRequest(Request):
    task_id: str
    audio_id: str


@attrs.frozen
class StyleRequest(Request):
    content: str


# --- results ---


class _AsData:
    """``to_dict``/``from_dict`` for the result and event classes (one place, via ``_convert``).

    It has no slots of its own, so the attrs classes built on it stay without a ``__dict__``.
    """

    __slots__ = ()

    def to_dict(self) -> dict[str, Any]:
        """This value as JSON-ready built-ins, for ``json.dumps``, a web framework or a database.

        Keys are the snake_case field names, enums their string values, tuples lists, nested
        results dicts; ``extra`` (wire keys this version does not know) is kept as received.
        ``from_dict`` reads it back.
        """
        from ._convert import to_dict

        return to_dict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """The value ``data`` describes: the output of ``to_dict``, or the service's own
        spelling of it. Raises ``ValueError`` naming the class and field that did not fit."""
        from ._convert import from_dict

        return from_dict(data, cls)


@attrs.frozen
class Track(_AsData):
    """One generated song.

    Attributes:
        id: the audio id; the input of ``extend`` and ``timestamped_lyrics``.
        audio_url: the downloadable MP3 (kept upstream for about two weeks).
        stream_audio_url: a streaming URL, ready before the MP3.
        image_url: the track's artwork.
        prompt: the lyrics (or description) the track was made from.
        model_name: the service's label for the model used.
        title: the song title.
        tags: the style tags.
        duration: length in seconds, when known.
        create_time: creation time as the service wrote it.
        extra: wire keys this version does not know, kept as received.
    """

    id: str
    audio_url: str = ""
    stream_audio_url: str = ""
    image_url: str = ""
    prompt: str = ""
    model_name: str = ""
    title: str = ""
    tags: str = ""
    duration: float | None = None
    create_time: str | None = None
    extra: Mapping[str, Any] = _extra()


@attrs.frozen
class MusicResult(_AsData):
    """The finished result of ``generate`` or ``extend``: usually two tracks."""

    task_id: str
    tracks: tuple[Track, ...]


@attrs.frozen
class LyricVariant(_AsData):
    """One lyrics proposal. ``status`` is ``"complete"`` or ``"failed"``."""

    text: str = ""
    title: str = ""
    status: str = "complete"
    error_message: str = ""
    extra: Mapping[str, Any] = _extra()

    @property
    def ok(self) -> bool:
        """Whether this variant holds usable lyrics."""
        return self.status != "failed" and bool(self.text)


@attrs.frozen
class LyricsResult(_AsData):
    """The finished result of ``generate_lyrics``: several variants to choose from."""

    task_id: str
    variants: tuple[LyricVariant, ...]


@attrs.frozen
class CoverResult(_AsData):
    """The finished result of ``generate_cover``: image URLs (kept upstream ~14 days)."""

    task_id: str
    images: tuple[str, ...]


@attrs.frozen
class StemsResult(_AsData):
    """The finished result of ``vocal_removal`` or ``split_stem``: a URL per stem.

    Attributes:
        task_id: the task.
        vocal_url: the vocals, when this split made them.
        instrumental_url: the accompaniment (``separate_vocal`` only).
        stems: every stem the service named, by name (``vocal``, ``instrumental``,
            ``backing_vocals``, ``drums``, ``bass``, ``guitar``, ``keyboard``, ...), to its URL.
    """

    task_id: str
    vocal_url: str | None
    instrumental_url: str | None
    stems: Mapping[str, str] = attrs.field(factory=dict, hash=False)


@attrs.frozen
class WavResult(_AsData):
    """The finished result of ``wav_generate``: the track as a WAV file."""

    task_id: str
    audio_wav_url: str


@attrs.frozen
class VideoResult(_AsData):
    """The finished result of ``mp4_generate``: a music video (MP4) of the track."""

    task_id: str
    video_url: str


@attrs.frozen
class Persona(_AsData):
    """A reusable voice identity, from ``generate_persona``: pass ``persona_id`` to
    ``generate`` (custom mode), ``extend`` or the upload routes."""

    persona_id: str
    name: str = ""
    description: str = ""


@attrs.frozen
class AlignedWord(_AsData):
    """A word (or phrase) of the lyrics with its place in the audio, in seconds.

    ``word`` is raw: it may start with a section marker and newline (``"[Verse]\\nFirst"``) and
    end with a space or newline. The ``to_*`` methods of ``TimestampedLyrics`` clean it.
    """

    word: str
    start_s: float
    end_s: float
    success: bool = True
    palign: float = 0.0
    extra: Mapping[str, Any] = _extra()


@attrs.frozen
class TimestampedLyrics(_AsData):
    """Word timings of a track, for karaoke displays and subtitle files.

    Attributes:
        words: the aligned words, in order (empty for instrumentals).
        waveform: an amplitude envelope for drawing the track.
        hoot_cer: the service's alignment score, when given.
        is_streamed: whether the timings refer to the streamed audio.
    """

    words: tuple[AlignedWord, ...] = ()
    waveform: tuple[float, ...] = ()
    hoot_cer: float | None = None
    is_streamed: bool = False
    extra: Mapping[str, Any] = _extra()

    def lines(self) -> list[LyricLine]:
        """The lyrics as timed lines, section markers and stray newlines removed."""
        return _subtitles.lines(self.words)

    def to_lrc(self, *, word_level: bool = False) -> str:
        """An LRC file (``[mm:ss.xx]line``); ``word_level`` adds enhanced ``<mm:ss.xx>`` tags."""
        return _subtitles.to_lrc(self.words, word_level=word_level)

    def to_srt(self) -> str:
        """A SubRip (``.srt``) file, one cue per lyric line."""
        return _subtitles.to_srt(self.words)

    def to_vtt(self) -> str:
        """A WebVTT (``.vtt``) file, one cue per lyric line."""
        return _subtitles.to_vtt(self.words)


@attrs.frozen
class StyleResult(_AsData):
    """The answer of ``style_generate``.

    Attributes:
        text: the richer style description, ready for ``generate(style=...)``.
        task_id: the service's id for this call (nothing to wait for).
        credits_consumed: credits the call cost, when given.
        credits_remaining: the balance after the call, when given.
    """

    text: str
    task_id: str = ""
    credits_consumed: float | None = None
    credits_remaining: float | None = None
    extra: Mapping[str, Any] = _extra()


@attrs.frozen
class TaskEvent(_AsData):
    """One stage of a task as reported by the service.

    Attributes:
        task_id: the task.
        kind: music, lyrics or cover.
        stage: ``text``, ``first``, ``complete`` or ``error``.
        code: the service's code (200 for success).
        message: the service's message.
        tracks: tracks known at this stage (music).
        variants: lyric variants (lyrics, final stage).
        images: image URLs (cover, final stage).
        outputs: the other named results of the final stage: stem URLs by stem name
            (stems), ``wav`` (WAV), ``video`` (video), ``persona_id``, ``name`` and
            ``description`` (persona).
    """

    task_id: str
    kind: TaskKind
    stage: Stage
    code: int = 200
    message: str = ""
    tracks: tuple[Track, ...] = ()
    variants: tuple[LyricVariant, ...] = ()
    images: tuple[str, ...] = ()
    outputs: Mapping[str, str] = attrs.field(factory=dict, hash=False)

    @property
    def is_final(self) -> bool:
        """Whether this event ends the task (success or failure)."""
        return self.stage in (Stage.COMPLETE, Stage.ERROR)


@attrs.frozen
class ClientStats(_AsData):
    """What a client has done since it opened (see ``AnyIntMusic.stats()``).

    Attributes:
        pending: tasks still waiting for a final result.
        completed: tasks that ended with a result.
        failed: tasks that ended with a failure (or were given up).
        duplicates: callbacks or polls that repeated a stage already seen.
        callbacks: callback requests received.
        callbacks_refused: of those, answered with a 4xx or 5xx.
        polls: polls of task records.
        retries: requests sent again after a transient failure.
    """

    pending: int
    completed: int
    failed: int
    duplicates: int
    callbacks: int
    callbacks_refused: int
    polls: int
    retries: int
