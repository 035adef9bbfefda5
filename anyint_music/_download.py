"""Streaming result files to disk: atomic, resumable where the server allows it, and contained.

A download writes ``<target>.<key>.part`` beside the target (``key`` is a short hash of the
URL, so a partial file is only ever continued with bytes of the URL that began it) and moves it
into place only when every byte is in, so the target is never half-written. When the connection
drops mid-body and the server accepts byte ranges, the partial file is kept and the download
continues from where it stopped (a few times within one call, and again on the next call, even
in a later process). Any other failure removes the partial file.

The destination is a file, or a folder. A file is replaced: the caller named it. In a folder the
name comes from the URL (or the caller) through :func:`safe_filename`, so a hostile URL cannot
write outside the folder, and an existing file there is never replaced by different bytes: the
download takes the next free name instead (``song-2.mp3``). Re-downloading the same bytes
settles on the existing file.
"""

from __future__ import annotations

import asyncio
import contextlib
import filecmp
import hashlib
import os
import re
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import IO
from urllib.parse import unquote, urlsplit

import aiohttp

from .errors import DownloadError

CHUNK = 64 * 1024

Progress = Callable[[int, int | None], None]


class FileProgress:
    """A ``progress`` callback that is also told, before the first byte, which file it counts
    (the command line's bar names it)."""

    def __call__(self, done: int, total: int | None) -> None:
        raise NotImplementedError

    def file(self, path: Path) -> None:
        """The file being written (in a folder: its name before a ``-2`` is added, if one is)."""


_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")
_UNSATISFIED = re.compile(r"bytes\s+\*/(\d+)")

# Room under the usual 255-byte name limit for "-NNN" and ".<key>.part".
NAME_MAX_BYTES = 200
# Characters Windows refuses in names; replaced everywhere so a folder can be copied across.
_FORBIDDEN = re.compile(r'[<>:"|?*]')
_RESERVED = re.compile(r"(?i)(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³]|conin\$|conout\$)")
_FREE_NAME_TRIES = 1000


class _Interrupted(Exception):
    """The body stopped early from a server that takes ranges: worth resuming."""


class _StartOver(Exception):
    """The partial file cannot be continued; it was removed and the next try starts afresh."""


def safe_filename(name: str, default: str = "download") -> str:
    """``name`` made into a plain file name that stays inside whatever folder it is joined to.

    Keeps only the part after the last ``/`` or ``\\``; drops control characters (NUL, escape
    sequences), invisible format characters (bidi overrides) and lone surrogates; replaces the
    characters Windows forbids; strips leading dots and spaces (no ``..``, no hidden files) and
    trailing dots and spaces; prefixes device names (``NUL``, ``COM1``...) with ``_``; and cuts
    the name to :data:`NAME_MAX_BYTES` bytes of UTF-8, keeping a short extension.

    Args:
        name: a name from anywhere (a URL's last segment, a title, an id).
        default: the name when nothing usable is left; it is made safe the same way.

    Returns:
        A non-empty name with no directory part.
    """
    plain = _clean(name)
    if not plain:
        plain = _clean(default) or "download"
    return plain


def _clean(name: str) -> str:
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(
        ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Zl", "Zp")
    )
    name = _FORBIDDEN.sub("_", name).lstrip(". ").rstrip(". ")
    if _RESERVED.fullmatch(name.split(".", 1)[0].rstrip(" ")):
        name = "_" + name
    return _cap(name)


def _cap(name: str) -> str:
    if len(name.encode()) <= NAME_MAX_BYTES:
        return name
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or len(ext.encode()) > 16:
        stem, ext = name, ""
    room = NAME_MAX_BYTES - (len(ext.encode()) + 1 if ext else 0)
    # errors="ignore" drops a character cut in half at the end.
    stem = stem.encode()[:room].decode(errors="ignore").rstrip(". ")
    return f"{stem}.{ext}" if ext else stem


def _destination(url: str, dest: str | os.PathLike[str], name: str | None) -> tuple[Path, bool]:
    """The file to write, and whether it is a name of ours in a folder (so: never replace)."""
    raw = os.fspath(dest)
    path = Path(raw)
    if name is None and not path.is_dir() and not raw.endswith(("/", os.sep)):
        return path, False
    if name is None:
        name = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    return path / safe_filename(name), True


def target_path(url: str, dest: str | os.PathLike[str], *, name: str | None = None) -> Path:
    """Where :func:`download_file` puts ``url`` (in a folder: unless a different file is there)."""
    return _destination(url, dest, name)[0]


def partial_path(url: str, dest: str | os.PathLike[str], *, name: str | None = None) -> Path:
    """Where :func:`download_file` keeps the bytes of ``url`` until they are complete."""
    target = target_path(url, dest, name=name)
    key = hashlib.sha256(url.encode(errors="surrogatepass")).hexdigest()[:8]
    return target.with_name(f"{target.name}.{key}.part")


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


def _numbered(target: Path, number: int) -> Path:
    if number == 1:
        return target
    stem, dot, ext = target.name.rpartition(".")
    if not stem:  # no extension (or only a leading dot, which safe_filename never leaves)
        return target.with_name(f"{target.name}-{number}")
    return target.with_name(f"{stem}-{number}{dot}{ext}")


def _claim(partial: Path, candidate: Path) -> bool:
    """Move ``partial`` to ``candidate`` unless something is there already."""
    try:
        # A hard link never replaces an existing name, even one made a moment ago by another
        # download: the check and the move are one step.
        os.link(partial, candidate)
    except FileExistsError:
        return False
    except OSError:
        # No hard links on this file system (FAT, some network shares): check, then move.
        if os.path.lexists(candidate):
            return False
        os.replace(partial, candidate)
        return True
    partial.unlink()
    return True


def _place_new(partial: Path, target: Path) -> Path:
    """Move ``partial`` to ``target``, or to the next free ``target-N`` if a different file is
    there; an existing file with the same bytes is kept and the partial one dropped."""
    for number in range(1, _FREE_NAME_TRIES + 1):
        candidate = _numbered(target, number)
        if _claim(partial, candidate):
            return candidate
        # Never settle on a link: the caller may go on to write through the path (tags).
        regular = candidate.is_file() and not candidate.is_symlink()
        if regular and filecmp.cmp(partial, candidate, shallow=False):
            partial.unlink()
            return candidate
    raise OSError(f"no free name like {target.name} in {target.parent}")


async def download_file(
    session: aiohttp.ClientSession,
    url: str,
    dest: str | os.PathLike[str],
    *,
    name: str | None = None,
    progress: Progress | None = None,
    max_bytes: int | None = None,
    attempts: int = 3,
    retry_delay: float = 0.5,
) -> Path:
    """Stream ``url`` into ``dest`` through a partial file that is moved into place at the end.

    Args:
        session: the session to fetch with (it should carry no API key).
        url: the file.
        dest: the file to write (replaced if it exists), or a folder: an existing directory,
            or a path ending in ``/`` (created). In a folder the file is named ``name`` or
            after the URL's last segment, made safe by :func:`safe_filename`, and never
            replaces a different file: it takes ``NAME-2.EXT`` (and so on) instead.
        name: the file name to use in the folder ``dest``; ``dest`` is then always a folder.
        progress: called as ``progress(bytes_done, bytes_total_or_None)``, counting bytes a
            resumed download already had.
        max_bytes: refuse a file larger than this, whether its size is announced up front or
            only becomes clear while streaming; ``None`` for no limit.
        attempts: tries within this call when the connection drops and the server takes
            ranges; each continues from the partial file.
        retry_delay: seconds before the second try, growing linearly.

    Returns:
        The path written.

    Raises:
        DownloadError: the file could not be fetched or written, or is larger than
            ``max_bytes``. The partial file is kept only when the server takes ranges and the
            transfer was cut off, so that the next call resumes it.
    """
    target, in_folder = _destination(url, dest, name)
    partial = partial_path(url, dest, name=name)
    if isinstance(progress, FileProgress):
        progress.file(target)
    if in_folder:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DownloadError(url, f"cannot make the folder {target.parent}: {exc}") from exc
    attempt = 1
    while True:
        try:
            await _fetch(session, url, partial, progress, max_bytes)
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
            if in_folder:
                return await asyncio.to_thread(_place_new, partial, target)
            os.replace(partial, target)
        except OSError as exc:
            _remove(partial)
            raise DownloadError(url, str(exc)) from exc
        return target


def _too_big(max_bytes: int) -> str:
    return f"the file is larger than the limit of {max_bytes} bytes (max_bytes)"


def _check_size(url: str, size: int, max_bytes: int | None) -> None:
    if max_bytes is not None and size > max_bytes:
        raise DownloadError(url, f"{_too_big(max_bytes)}: it is {size} bytes")


async def _fetch(
    session: aiohttp.ClientSession,
    url: str,
    partial: Path,
    progress: Progress | None,
    max_bytes: int | None,
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
                    _check_size(url, total, max_bytes)
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
            _check_size(url, max(total or 0, offset), max_bytes)
            done = offset
            out = file = await asyncio.to_thread(partial.open, mode)
            if progress is not None:
                progress(done, total)
            async for chunk in resp.content.iter_chunked(CHUNK):
                # A server may send more than it announced, or announce nothing: count.
                if max_bytes is not None and done + len(chunk) > max_bytes:
                    raise DownloadError(url, _too_big(max_bytes))
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
    except (aiohttp.ClientError, OSError, ValueError) as exc:
        # ValueError: a name the file system refuses (safe_filename should leave none).
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
