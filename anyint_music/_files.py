"""Result files for the client: one session without the API key, the checks, the tags."""

from __future__ import annotations

import os
from pathlib import Path

import aiohttp

from . import _tags
from ._download import Progress, download_file
from ._models import Track
from ._settings import is_http_url
from .errors import InvalidRequestError


class Downloads:
    """Fetches result files; the session is made on first use (most clients never download)."""

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None

    async def download(
        self,
        source: Track | str,
        dest: str | os.PathLike[str],
        *,
        progress: Progress | None,
        tag: bool,
        max_bytes: int | None,
    ) -> Path:
        """See ``AnyIntMusic.download``."""
        url = source.audio_url if isinstance(source, Track) else source
        if not is_http_url(url):
            raise InvalidRequestError(f"nothing to download: {url!r} is not an http(s) URL")
        if max_bytes is not None and (
            isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 1
        ):
            raise InvalidRequestError(
                f"max_bytes must be a positive whole number of bytes or None, not {max_bytes!r}",
                field="max_bytes",
            )
        if self._session is None:
            # Result files live on other hosts: this session carries no API key.
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(sock_read=60))
        path = await download_file(self._session, url, dest, progress=progress, max_bytes=max_bytes)
        if tag and isinstance(source, Track):
            await _tags.tag_download(self._session, path, source)
        return path

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
