"""Streaming result files to disk, atomically."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urlsplit

import aiohttp

from .errors import DownloadError

CHUNK = 64 * 1024


def _target(url: str, dest: Path) -> Path:
    if dest.is_dir():
        name = unquote(urlsplit(url).path.rsplit("/", 1)[-1]) or "download"
        return dest / name
    return dest


async def download_file(
    session: aiohttp.ClientSession,
    url: str,
    dest: Path,
    *,
    progress: Callable[[int, int | None], None] | None = None,
) -> Path:
    """Stream ``url`` into ``dest`` through a temporary file renamed into place at the end."""
    target = _target(url, dest)
    partial = target.with_name(target.name + ".part")
    done = 0
    try:
        async with session.get(url) as resp:
            if resp.status != 200:
                raise DownloadError(url, f"the server answered HTTP {resp.status}")
            total = resp.content_length
            with partial.open("wb") as out:
                async for chunk in resp.content.iter_chunked(CHUNK):
                    await asyncio.to_thread(out.write, chunk)
                    done += len(chunk)
                    if progress is not None:
                        progress(done, total)
        if total is not None and done != total:
            raise DownloadError(url, f"got {done} of {total} bytes")
        os.replace(partial, target)
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise DownloadError(url, str(exc) or type(exc).__name__) from exc
    except BaseException:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise
    return target
