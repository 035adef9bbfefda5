"""ID3 tags for downloaded MP3s, written with mutagen when the ``tags`` extra is installed.

Without mutagen, :func:`tag_mp3` does nothing and says so by returning ``False``; the command
line then tells the user once how to enable it (:data:`INSTALL_HINT`).
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import logging
from pathlib import Path
from typing import Any

import aiohttp

from ._models import Track
from .errors import DownloadError

log = logging.getLogger("anyint_music")

INSTALL_HINT = "pip install 'anyint-music[tags]'"


def available() -> bool:
    """Whether mutagen can be imported, so that :func:`tag_mp3` will write tags."""
    try:
        return importlib.util.find_spec("mutagen") is not None
    except ValueError:  # a half-imported module without __spec__
        return False


def lyrics_of(track: Track) -> str | None:
    """The track's lyrics, or ``None`` when its ``prompt`` is empty or a one-line description.

    A music track's ``prompt`` holds the sung lyrics (several lines, usually with section
    markers such as ``[Verse]``); instrumentals have none.
    """
    text = track.prompt.strip()
    if not text or ("\n" not in text and "[" not in text):
        return None
    return text


def _image_mime(data: bytes) -> str:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"GIF8"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "image/jpeg"


def tag_mp3(path: str | Path, track: Track, *, cover: bytes | None = None) -> bool:
    """Write ID3 tags from ``track`` into the MP3 at ``path`` so players show it properly.

    Writes the title (TIT2), the style tags as genre (TCON), ``cover`` as the front cover
    (APIC) and the lyrics (USLT, see :func:`lyrics_of`); empty values are left out. Existing
    tags of the same kinds are replaced, others kept. ID3v2.3 is written, which every common
    player reads. This blocks: call it through ``asyncio.to_thread`` from async code.

    Returns:
        ``True`` if tags were written, ``False`` if mutagen is not installed.

    Raises:
        OSError: the file could not be read or written.
        ValueError: the file is not an MP3 mutagen can tag.
    """
    try:
        id3: Any = importlib.import_module("mutagen.id3")
    except ImportError:
        return False
    try:
        tags = id3.ID3(path)
    except id3.ID3NoHeaderError:
        tags = id3.ID3()
    except id3.error as exc:
        raise ValueError(f"{path}: cannot read its ID3 tags: {exc}") from exc
    utf8 = 3  # the text encoding; saving as v2.3 downgrades it to UTF-16 where needed
    if track.title:
        tags.setall("TIT2", [id3.TIT2(encoding=utf8, text=[track.title])])
    if track.tags:
        tags.setall("TCON", [id3.TCON(encoding=utf8, text=[track.tags])])
    if cover:
        tags.setall(
            "APIC",
            [id3.APIC(encoding=utf8, mime=_image_mime(cover), type=3, desc="Cover", data=cover)],
        )
    lyrics = lyrics_of(track)
    if lyrics:
        tags.setall("USLT", [id3.USLT(encoding=utf8, lang="eng", desc="", text=lyrics)])
    try:
        tags.save(path, v2_version=3)
    except id3.error as exc:
        raise ValueError(f"{path}: cannot write ID3 tags: {exc}") from exc
    return True


async def tag_download(session: aiohttp.ClientSession, path: Path, track: Track) -> None:
    """Tag a track's downloaded MP3 at ``path``, with its art fetched on ``session`` (a session
    without the API key); say once in the log how to enable tags when mutagen is missing.

    Raises:
        DownloadError: the file is saved but could not be tagged.
    """
    if not available():
        log.warning("not tagging %s: %s to enable it", path, INSTALL_HINT)
        return
    cover: bytes | None = None
    if track.image_url:
        try:
            async with session.get(track.image_url) as resp:
                if resp.status == 200:
                    cover = await resp.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("tagging %s without its cover: %s", path, exc)
    try:
        await asyncio.to_thread(tag_mp3, path, track, cover=cover)
    except (OSError, ValueError) as exc:
        raise DownloadError(str(path), f"saved, but could not be tagged: {exc}") from exc
