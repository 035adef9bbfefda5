"""The simulated gateway's fetches of ``uploadUrl`` (PROTOCOL-TRANSFORM §4-§7): upload-cover,
upload-extend, add-vocals and add-instrumental tasks download their source audio themselves,
after the submit was answered and before their first stage. Each fetch is bounded in time and
size and recorded as a `FetchedUpload`.

`FetchedUpload` is re-exported from `anyint_music.testing._gateway`.
"""

from __future__ import annotations

import hashlib

import aiohttp
import attrs

from ._sim_knobs import Knobs

__all__ = ["UPLOAD_MAX_BYTES", "UPLOAD_TIMEOUT", "FetchedUpload", "Uploader", "fetch_upload"]

UPLOAD_TIMEOUT = 30.0  # seconds for the whole fetch, as kie's file-url upload allows
UPLOAD_MAX_BYTES = 50 * 1024 * 1024
_CHUNK = 64 * 1024


@attrs.frozen
class FetchedUpload:
    """One fetch of a task's ``uploadUrl`` by the simulated gateway, in the order they ended.

    Attributes:
        url: The ``uploadUrl`` fetched (a plain GET, redirects followed).
        status: The HTTP status of the answer, or ``None`` when the connection failed or
            timed out before an answer came.
        size: The bytes received (up to just past the size bound when the body was too large).
        sha256: Hex SHA-256 of the bytes received.
        content_type: The answer's ``Content-Type`` header as sent, or ``None``.
        task_id: The task the source audio was fetched for.
        error: Why the fetch counts as failed (connection error, timeout, a status other than
            200, an empty or too large body), or ``None`` when it succeeded. A failed fetch
            fails its task with callback code 451.
    """

    url: str
    status: int | None
    size: int
    sha256: str
    content_type: str | None
    task_id: str
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the source audio was fetched (HTTP 200, a non-empty body within bounds)."""
        return self.error is None


async def fetch_upload(
    session: aiohttp.ClientSession,
    url: str,
    task_id: str,
    *,
    timeout: float = UPLOAD_TIMEOUT,
    max_bytes: int = UPLOAD_MAX_BYTES,
) -> FetchedUpload:
    """GET `url` with `session` within `timeout` seconds and `max_bytes` bytes; never raises
    for what the remote end does: every outcome becomes a `FetchedUpload`."""
    digest = hashlib.sha256()
    size = 0
    status: int | None = None
    content_type: str | None = None
    error: str | None = None
    try:
        async with session.get(url, timeout=aiohttp.ClientTimeout(total=timeout)) as response:
            status = response.status
            content_type = response.headers.get("Content-Type")
            async for chunk in response.content.iter_chunked(_CHUNK):
                size += len(chunk)
                digest.update(chunk)
                if size > max_bytes:
                    error = f"the audio is larger than {max_bytes} bytes"
                    break
    except TimeoutError:
        error = f"no complete answer within {timeout} s"
    except (aiohttp.ClientError, OSError, ValueError) as exc:
        error = f"{type(exc).__name__}: {exc}"
    if error is None and status != 200:
        error = f"HTTP {status}"
    elif error is None and size == 0:
        error = "the body is empty"
    return FetchedUpload(url, status, size, digest.hexdigest(), content_type, task_id, error)


class Uploader:
    """Fetches source audio for tasks and records each fetch in the gateway's ``uploads``."""

    def __init__(self, knobs: Knobs) -> None:
        self._knobs = knobs
        self.session: aiohttp.ClientSession | None = None  # set while the gateway runs

    async def fetch(self, url: str, task_id: str) -> FetchedUpload:
        """Fetch `url` for `task_id`, record the outcome (when recording) and return it."""
        assert self.session is not None
        fetched = await fetch_upload(self.session, url, task_id)
        if self._knobs.record:
            self._knobs.uploads.append(fetched)
        return fetched
