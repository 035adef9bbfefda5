"""Local files as ``upload_url``: served by the client's own receiver while their task needs them.

AnyInt documents no upload route, and ``upload_url`` must be a URL the service can fetch; the
receiver is already a door the service reaches. A path given as ``upload_url`` is opened once
when the task is submitted, so exactly that file is served, whatever later happens to the path
(a rename, a symlink put in its place). It is shared at an unguessable URL under the callback
prefix (``/anyint/callbacks/files/{secret}/{name}``; a token never contains a ``/``), with its
``Content-Type`` and byte ranges, and only until its task ends or its time is up. Nothing else
on disk can be reached through it.
"""

from __future__ import annotations

import asyncio
import mimetypes
import os
import re
import secrets
import stat
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import attrs

from ._callbacks import CALLBACK_PREFIX
from ._download import safe_filename
from ._settings import is_http_url
from .errors import InvalidRequestError

FILES_PREFIX = CALLBACK_PREFIX + "files/"
_CHUNK = 256 * 1024
# Digits capped: a range beyond any file's size needs no more, and int() of thousands is slow.
_RANGE = re.compile(r"bytes=(\d{0,18})-(\d{0,18})")


@attrs.frozen
class LocalFile:
    """A local file given as ``upload_url`` (checked: it exists and is a regular file)."""

    path: Path


def upload_source(value: Any, field: str = "upload_url") -> str | LocalFile:
    """An http(s) URL as it is, or an existing regular file to serve."""
    if isinstance(value, str) and is_http_url(value):
        return value
    if not isinstance(value, str | os.PathLike):
        raise InvalidRequestError(
            f"{field} must be an http(s) URL or a path to a local file, not {value!r}",
            field=field,
        )
    path = Path(value)
    try:
        mode = path.stat().st_mode
    except (OSError, ValueError):
        raise InvalidRequestError(
            f"{field}={str(value)!r} is neither an http(s) URL nor an existing file", field=field
        ) from None
    if not stat.S_ISREG(mode):
        raise InvalidRequestError(f"{field}={str(value)!r} is not a regular file", field=field)
    return LocalFile(path)


@attrs.define
class _Shared:
    fd: int
    size: int
    name: str
    content_type: str


class Uploads:
    """The local files shared right now, by secret."""

    def __init__(self) -> None:
        self._shared: dict[str, _Shared] = {}

    def __len__(self) -> int:
        return len(self._shared)

    def share(self, file: LocalFile, base_url: str) -> tuple[str, str]:
        """Open ``file`` and share it; return its secret and its URL under ``base_url``."""
        try:
            fd = os.open(file.path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except OSError as exc:
            raise InvalidRequestError(
                f"upload_url: cannot open {str(file.path)!r}: {exc.strerror}", field="upload_url"
            ) from None
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):  # replaced since it was checked
            os.close(fd)
            raise InvalidRequestError(
                f"upload_url={str(file.path)!r} is not a regular file", field="upload_url"
            )
        name = safe_filename(file.path.name, "upload")
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        secret = secrets.token_urlsafe(24)
        self._shared[secret] = _Shared(fd, info.st_size, name, kind)
        # Quoted: a name may hold '#', '%' or spaces; the server compares the decoded name.
        return secret, f"{base_url}{FILES_PREFIX}{secret}/{quote(name, safe='')}"

    def keep_until(self, secret: str, done: asyncio.Future[Any], seconds: float) -> None:
        """Stop sharing when ``done`` completes or after ``seconds``, whichever comes first."""
        timer = asyncio.get_running_loop().call_later(seconds, self.unshare, secret)

        def ended(_: object) -> None:
            timer.cancel()
            self.unshare(secret)

        done.add_done_callback(ended)

    def unshare(self, secret: str) -> None:
        shared = self._shared.pop(secret, None)
        if shared is not None:
            os.close(shared.fd)

    def close(self) -> None:
        for secret in list(self._shared):
            self.unshare(secret)

    def answer(self, secret: str, name: str, range_header: str | None) -> _Answer | None:
        """What to send for a request of ``secret``/``name``; ``None``: not shared (404)."""
        shared = self._shared.get(secret)
        if shared is None or shared.name != name:
            return None
        size = shared.size
        headers = {
            "Content-Type": shared.content_type,
            "Accept-Ranges": "bytes",
            "Cache-Control": "no-store",
        }
        start, end = 0, size - 1
        status = 200
        match = _RANGE.fullmatch((range_header or "").strip())
        if match is not None and (match[1] or match[2]):
            if match[1]:
                start = int(match[1])
                end = min(int(match[2]), size - 1) if match[2] else size - 1
            else:  # the last N bytes
                start = max(size - int(match[2]), 0)
            if start >= size or start > end:
                headers["Content-Range"] = f"bytes */{size}"
                return _Answer(416, headers, -1, 0, 0)
            status = 206
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        length = max(end - start + 1, 0)
        headers["Content-Length"] = str(length)
        # A copy of the descriptor per answer: unsharing mid-answer cannot pull it away.
        return _Answer(status, headers, os.dup(shared.fd), start, length)


@attrs.define
class _Answer:
    """An answer to a shared file's request: status, headers, and its bytes to stream."""

    status: int
    headers: dict[str, str]
    fd: int
    start: int
    length: int

    async def chunks(self) -> AsyncIterator[bytes]:
        """The bytes, read off the event loop; the descriptor is closed at the end."""
        try:
            offset, left = self.start, self.length
            while left > 0:
                chunk = await asyncio.to_thread(os.pread, self.fd, min(_CHUNK, left), offset)
                if not chunk:
                    return
                offset += len(chunk)
                left -= len(chunk)
                yield chunk
        finally:
            self.close()

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
