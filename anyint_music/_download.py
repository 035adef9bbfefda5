"""Streaming result files to disk: atomic, and resumable where the server allows it.

A download writes ``<target>.part`` beside the target and renames it into place only when every
byte is in, so the target is never half-written. When the connection drops mid-body and the
server accepts byte ranges, the partial file is kept and the download continues from where it
stopped (a few times within one call, and again on the next call, even in a later process).
Any other failure removes the partial file.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import IO
from urllib.parse import unquote, urlsplit

import aiohttp

from .errors import DownloadError

CHUNK = 64 * 1024

Progress = Callable[[int, int | None], None]

_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")
_UNSATISFIED = re.compile(r"bytes\s+\*/(\d+)")


class _Interrupted(Exception):
    """The body stopped early from a server that takes ranges: worth resuming."""


class _StartOver(Exception):
    """The partial file cannot be continued; it was removed and the next try starts afresh."""


def _target(url: str, dest: Path) -> Path:
    if dest.is_dir():
        name = unquote(urlsplit(url).path.rsplit("/", 1)[-1]) or "download"
        return dest / name
    return dest


def partial_path(url: str, dest: Path) -> Path:
    """Where :func:`download_file` keeps the bytes of ``url`` until they are complete."""
    target = _target(url, dest)
    return target.with_name(target.name + ".part")


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


def _finish(out: IO[bytes]) -> None:
    out.flush()
    os.fsync(out.fileno())
    out.close()


async def download_file(
    session: aiohttp.ClientSession,
    url: str,
    dest: Path,
    *,
    progress: Progress | None = None,
    attempts: int = 3,
    retry_delay: float = 0.5,
) -> Path:
    """Stream ``url`` into ``dest`` through ``<dest>.part``, renamed into place at the end.

    Args:
        session: the session to fetch with (it should carry no API key).
        url: the file.
        dest: the file to write, or an existing directory (the URL's last segment names it).
        progress: called as ``progress(bytes_done, bytes_total_or_None)``, counting bytes a
            resumed download already had.
        attempts: tries within this call when the connection drops and the server takes
            ranges; each continues from the partial file.
        retry_delay: seconds before the second try, growing linearly.

    Returns:
        The path written.

    Raises:
        DownloadError: the file could not be fetched or written. The partial file is kept
            only when the server takes ranges and the transfer was cut off, so that the next
            call resumes it.
    """
    target = _target(url, dest)
    partial = partial_path(url, dest)
    attempt = 1
    while True:
        try:
            await _fetch(session, url, partial, progress)
        except _StartOver:
            continue  # the partial file is gone now, so this cannot repeat
        except _Interrupted as exc:
            if attempt >= attempts:
                if _size(partial) == 0:
                    _remove(partial)
                    raise DownloadError(url, str(exc)) from exc.__cause__
                raise DownloadError(
                    url, f"{exc}; {partial.name} is kept and the next download resumes it"
                ) from exc.__cause__
            await asyncio.sleep(retry_delay * attempt)
            attempt += 1
            continue
        try:
            os.replace(partial, target)
        except OSError as exc:
            _remove(partial)
            raise DownloadError(url, str(exc)) from exc
        return target


async def _fetch(
    session: aiohttp.ClientSession, url: str, partial: Path, progress: Progress | None
) -> None:
    """One request: resume ``partial`` if it has bytes, else (re)write it; complete or raise."""
    offset = _size(partial)
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    resumable = False
    out: IO[bytes] | None = None
    try:
        async with session.get(url, headers=headers) as resp:
            resumable = resp.headers.get("Accept-Ranges", "").lower() == "bytes"
            if resp.status == 416 and offset:
                total = _unsatisfied_total(resp.headers.get("Content-Range"))
                if total == offset:  # the partial file already holds everything
                    if progress is not None:
                        progress(offset, total)
                    return
                _remove(partial)
                raise _StartOver
            if resp.status == 206 and offset:
                fits, total = _resumed(resp.headers.get("Content-Range"), offset)
                if not fits:
                    _remove(partial)
                    raise _StartOver
                resumable = True
                mode = "ab"
            elif resp.status == 200:
                offset, total, mode = 0, resp.content_length, "wb"
            else:
                raise DownloadError(url, f"the server answered HTTP {resp.status}")
            done = offset
            out = file = await asyncio.to_thread(partial.open, mode)
            if progress is not None:
                progress(done, total)
            async for chunk in resp.content.iter_chunked(CHUNK):
                await asyncio.to_thread(file.write, chunk)
                done += len(chunk)
                if progress is not None:
                    progress(done, total)
            await asyncio.to_thread(_finish, file)
            if total is not None and done != total:
                # The server closed early without aiohttp noticing (no Content-Length framing).
                raise aiohttp.ClientPayloadError(f"got {done} of {total} bytes")
    except (aiohttp.ClientPayloadError, aiohttp.ClientConnectionError, TimeoutError) as exc:
        _close(out)
        reason = str(exc) or type(exc).__name__
        if resumable:
            raise _Interrupted(reason) from exc
        _remove(partial)
        raise DownloadError(url, reason) from exc
    except (aiohttp.ClientError, OSError) as exc:
        _close(out)
        _remove(partial)
        raise DownloadError(url, str(exc) or type(exc).__name__) from exc
    except (_StartOver, DownloadError):
        _close(out)
        _remove(partial)
        raise
    except BaseException:
        # Cancelled or interrupted (Ctrl-C): keep what can be resumed, as for a dropped line.
        _close(out)
        if not resumable:
            _remove(partial)
        raise


def _close(out: IO[bytes] | None) -> None:
    if out is not None:
        with contextlib.suppress(OSError):
            out.close()


def _resumed(header: str | None, offset: int) -> tuple[bool, int | None]:
    """Whether a 206's ``Content-Range`` continues exactly at ``offset``, and the full size."""
    match = _CONTENT_RANGE.fullmatch((header or "").strip())
    if match is None or int(match.group(1)) != offset:
        return False, None
    return True, None if match.group(3) == "*" else int(match.group(3))


def _unsatisfied_total(header: str | None) -> int | None:
    match = _UNSATISFIED.fullmatch((header or "").strip())
    return int(match.group(1)) if match else None
