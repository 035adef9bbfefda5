"""anyint-music: an asyncio SDK for AnyInt's AI Music routes, with a built-in callback receiver.

async with AnyIntMusic() as client:
    song = await client.generate(prompt="A bright summer pop song", model=Model.V5)
    print(song.tracks[0].audio_url)
"""

from __future__ import annotations

from ._asgi import CallbackASGIApp
from ._client import AnyIntMusic
from ._models import (
    AlignedWord,
    ClientStats,
    CoverResult,
    LyricsResult,
    LyricVariant,
    Model,
    MusicResult,
    Persona,
    PersonaModel,
    Stage,
    StemsResult,
    StemType,
    StyleResult,
    TaskEvent,
    TaskKind,
    TimestampedLyrics,
    Track,
    VideoResult,
    VocalGender,
    WavResult,
)
from ._retry import RetryPolicy
from ._subtitles import LyricLine
from ._tasks import Task
from ._version import __version__
from .errors import (
    AnyIntError,
    APIConnectionError,
    APIError,
    AuthenticationError,
    BadRequestError,
    CallbackUnreachableError,
    ClientClosedError,
    ClientStateError,
    ConfigurationError,
    ConflictError,
    DownloadError,
    InsufficientCreditsError,
    InvalidRequestError,
    MalformedResponseError,
    PermissionDeniedError,
    RateLimitError,
    ReceiverClosedError,
    ServerError,
    StoreError,
    SubmitUncertainError,
    TaskFailedError,
    TaskTimeoutError,
)

__all__ = [
    "APIConnectionError",
    "APIError",
    "AlignedWord",
    "AnyIntError",
    "AnyIntMusic",
    "AuthenticationError",
    "BadRequestError",
    "CallbackASGIApp",
    "CallbackUnreachableError",
    "ClientClosedError",
    "ClientStateError",
    "ClientStats",
    "ConfigurationError",
    "ConflictError",
    "CoverResult",
    "DownloadError",
    "InsufficientCreditsError",
    "InvalidRequestError",
    "LyricLine",
    "LyricVariant",
    "LyricsResult",
    "MalformedResponseError",
    "Model",
    "MusicResult",
    "PermissionDeniedError",
    "Persona",
    "PersonaModel",
    "RateLimitError",
    "ReceiverClosedError",
    "RetryPolicy",
    "ServerError",
    "Stage",
    "StemType",
    "StemsResult",
    "StoreError",
    "StyleResult",
    "SubmitUncertainError",
    "Task",
    "TaskEvent",
    "TaskFailedError",
    "TaskKind",
    "TaskTimeoutError",
    "TimestampedLyrics",
    "Track",
    "VideoResult",
    "VocalGender",
    "WavResult",
    "__version__",
]
