"""One command's run for the command line: following a task, saving and tagging its files."""

from __future__ import annotations

import asyncio
import re
import shlex
import sys
import unicodedata
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit

import aiohttp
import attrs

from . import (
    AnyIntMusic,
    APIError,
    DownloadError,
    MusicResult,
    Stage,
    Task,
    TaskEvent,
    TaskKind,
    TaskTimeoutError,
    Track,
    _tags,
)
from ._cli_output import CommandError, clock, human_bytes
from ._download import download_file, partial_path, safe_filename, target_path

R = TypeVar("R")

_WAITING = {
    Stage.TEXT: "waiting for the first track",
    Stage.FIRST: "waiting for every track to finish",
}


def slug(text: str, fallback: str = "track") -> str:
    """A tidy, lower-case form of ``text`` for file names: ``"Going Home!"`` -> ``"going-home"``.

    Only for looks: every name the command line writes still passes ``safe_filename``.
    """
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", plain.lower())
    return "-".join(words)[:60].strip("-") or fallback


def track_json(track: Track) -> dict[str, Any]:
    """The fields of a track a script wants, for JSON events."""
    return {
        "id": track.id,
        "title": track.title,
        "tags": track.tags,
        "duration": track.duration,
        "audio_url": track.audio_url,
        "stream_audio_url": track.stream_audio_url,
        "image_url": track.image_url,
    }


class Reporter(Protocol):
    """What a session reports through: the command's :class:`Output`, or in a batch one task's
    view of the batch's display (``_cli_board``)."""

    json_lines: bool

    def emit(self, event: str, text: str | None = None, /, **fields: Any) -> None: ...
    def say(self, text: str = "", *, lines: bool = False) -> None: ...
    def raw(self, text: str) -> None: ...
    def notice(self, message: str) -> None: ...
    def waiting(self, what: str) -> None: ...
    def status(self, render: Callable[[], str] | None) -> None: ...
    def progress(self, label: str) -> Callable[[int, int | None], None]: ...


@attrs.define
class Pending:
    """A task this command made or picked up whose files are not saved yet: what
    ``anyint-music wait`` needs to pick it up (``line``: its line in a ``--from`` list)."""

    task_id: str
    kind: TaskKind
    line: int | None = None


# What stops a batch reports instead of an error: (the reason, the exit code, the fields about
# the unfinished tasks); see ``_cli_stop``.
OnStop = Callable[[str, int, dict[str, Any]], None]


@attrs.define
class Shared:
    """What the sessions of one command share (a batch has one session per task)."""

    pending: dict[str, Pending] = attrs.Factory(dict)
    told_about_tags: bool = False
    on_stop: OnStop | None = None


class Session:
    """One command's run: the client, the output, the deadline and the files written.

    ``download`` needs no client (nor an API key). Files are fetched with ``http``, a session
    that carries no API key. A batch runs one :meth:`child` session per task.
    """

    def __init__(
        self,
        client: AnyIntMusic | None,
        out: Reporter,
        timeout: float | None,
        *,
        http: aiohttp.ClientSession | None = None,
        shared: Shared | None = None,
        line: int | None = None,
    ) -> None:
        self._client = client
        self._http = http
        self.out = out
        self.timeout = timeout if timeout is not None else 900.0
        self.deadline = asyncio.get_running_loop().time() + self.timeout
        self.files: list[str] = []
        self.shared = shared or Shared()
        self.line = line

    def child(self, out: Reporter, line: int | None) -> Session:
        """A session for one task of a batch: the same client and shared state, its own
        output, files and deadline (``--timeout`` counts from now)."""
        return Session(
            self._client, out, self.timeout, http=self._http, shared=self.shared, line=line
        )

    @property
    def pending(self) -> dict[str, Pending]:
        """The tasks whose files are not saved yet, by id."""
        return self.shared.pending

    @property
    def client(self) -> AnyIntMusic:
        assert self._client is not None
        return self._client

    def remaining(self) -> float:
        return max(self.deadline - asyncio.get_running_loop().time(), 0.0)

    async def ask(self, asking: Awaitable[R], what: str) -> R:
        """Wait for ``asking`` within the deadline, with a spinner saying ``what``."""
        self.out.waiting(what)
        try:
            async with asyncio.timeout(self.remaining()):
                return await asking
        except TaskTimeoutError:
            raise
        except TimeoutError:
            raise TaskTimeoutError(None, self.timeout) from None
        finally:
            self.out.status(None)

    async def submit(self, submitting: Awaitable[Task[R]], what: str | None) -> Task[R]:
        """Submit within the deadline and report the task id."""
        task = await self.ask(submitting, f"submitting {what}")
        self.pending[task.id] = Pending(task.id, task.kind, self.line)
        self.out.emit("submitted", f"submitted      task {task.id}", task_id=task.id, kind=what)
        return task

    def attach(self, task: Task[R]) -> Task[R]:
        """Report a task picked up again by id (``client.task``), to follow like a new one."""
        self.pending[task.id] = Pending(task.id, task.kind, self.line)
        self.out.emit(
            "attached",
            f"attached       task {task.id} ({task.kind.value}; its record is polled)",
            task_id=task.id,
            kind=task.kind,
        )
        return task

    def settle(self, task_id: str) -> None:
        """The task's files are saved (or it failed): nothing left to pick up."""
        self.pending.pop(task_id, None)

    async def follow(self, task: Task[R], first_wait: str) -> R:
        """Report each stage as it arrives, then return the final result."""
        self.out.waiting(first_wait)
        try:
            async for event in task.events(timeout=self.remaining()):
                self.out.status(None)
                self._stage(event)
                if not event.is_final:
                    self.out.waiting(_WAITING.get(event.stage, "waiting"))
            self.out.status(None)
            return await task.wait(timeout=self.remaining())
        except TaskTimeoutError:
            raise TaskTimeoutError(task.id, self.timeout) from None

    def _stage(self, event: TaskEvent) -> None:
        if event.stage is Stage.ERROR:
            return  # the wait raises TaskFailedError, reported as the command's error
        tracks = [track_json(t) for t in event.tracks]
        fields: dict[str, Any] = {"task_id": event.task_id, "stage": event.stage.value}
        if tracks:
            fields["tracks"] = tracks
        if event.stage is Stage.TEXT:
            title = next((t.title for t in event.tracks if t.title), "")
            text = "lyrics ready" + (f'   "{title}"' if title else "")
        elif event.stage is Stage.FIRST:
            ready = [t for t in event.tracks if t.stream_audio_url]
            where = f"{ready[0].stream_audio_url}   id {ready[0].id}" if ready else ""
            text = f"first track streamable   {where}".rstrip()
        elif event.tracks:
            lengths = ", ".join(clock(t.duration) for t in event.tracks)
            text = f"complete       {len(event.tracks)} tracks ({lengths})"
        elif event.variants:
            text = f"complete       {sum(v.ok for v in event.variants)} lyric variants"
        elif event.images:
            text = f"complete       {len(event.images)} images"
        elif event.outputs:
            fields["outputs"] = dict(event.outputs)
            names = ", ".join(event.outputs)
            many = f"{len(event.outputs)} stems: " if event.kind is TaskKind.STEMS else ""
            text = f"complete       {many}{names}"
        else:
            text = "complete"
        self.out.emit("stage", text, **fields)

    async def download(
        self,
        url: str,
        dest: Path,
        label: str,
        what: str,
        *,
        name: str | None = None,
        max_bytes: int | None = None,
        track_id: str | None = None,
    ) -> Path:
        """Fetch one result file with a progress bar, and report it (with the full id of the
        track it belongs to, if any: ``extend`` and ``timestamps`` need it).

        ``dest`` is a file, or with ``name`` (or when it is a folder) the folder to save in;
        in a folder a different file of the same name is never replaced (see ``download_file``).
        """
        assert self._http is not None
        progress = self.out.progress(label)
        try:
            path = await download_file(
                self._http, url, dest, name=name, progress=progress, max_bytes=max_bytes
            )
        except asyncio.CancelledError:
            kept = partial_path(url, dest, name=name)
            if kept.exists():
                target = shlex.quote(str(target_path(url, dest, name=name)))
                self.out.notice(
                    f"kept {kept}; to resume: anyint-music download {shlex.quote(url)} "
                    f"--out {target}"
                )
            raise
        finally:
            self.out.status(None)
        self._report("download", "saved", path, what, track_id, url=url)
        return path

    async def save_urls(
        self, files: Sequence[tuple[str, str, str]], out: str | None, what: str
    ) -> None:
        """Save each ``(label, url, name)`` as ``name`` in the folder ``out`` (``label`` says
        which file it is, ``what`` its kind in events); with ``out=None``, show the URLs."""
        if out is None:
            for label, url, _ in files:
                self.out.say(f"  {label:<14} {url}")
            return
        where = folder(Path(out))
        for label, url, name in files:
            await self.download(url, where, label, what, name=name)

    def write(self, path: Path, text: str, what: str, track_id: str | None = None) -> None:
        """Write a file made here (lyrics, timings) and report it."""
        # backslashreplace: a lone surrogate from the network must not lose the whole file.
        path.write_text(text, encoding="utf-8", errors="backslashreplace")
        self._report("file", "wrote", path, what, track_id)

    def _report(
        self, event: str, verb: str, path: Path, what: str, track_id: str | None, **more: str
    ) -> None:
        size = path.stat().st_size
        self.files.append(str(path))
        track = {} if track_id is None else {"track_id": track_id}
        self.out.emit(
            event,
            f"{verb:<15}{path}  ({human_bytes(size)})"
            + ("" if track_id is None else f"  track {track_id}"),
            path=str(path),
            bytes=size,
            **more,
            what=what,
            **track,
        )

    async def save_tracks(self, result: MusicResult, out_dir: Path, *, lrc: bool) -> None:
        """Download each track's MP3 and art, tag the MP3, and write its ``.lrc`` if asked.

        A track that cannot be saved is reported and the others are still saved; then it
        raises :class:`CommandError`.
        """
        folder(out_dir)
        failed = 0
        for number, track in enumerate(result.tracks, 1):
            if not track.audio_url:
                self.out.notice(f"track {track.id} has no audio URL; nothing to save")
                continue
            try:
                await self._save_track(result.task_id, track, number, out_dir, lrc=lrc)
            except (DownloadError, APIError, OSError) as exc:
                failed += 1
                self.out.notice(f"track {number} not saved: {exc}")
        if failed:
            raise CommandError(
                f"{failed} of {len(result.tracks)} tracks could not be saved (see the notes); "
                f"the others are in {out_dir}"
            )

    async def _save_track(
        self, task_id: str, track: Track, number: int, out_dir: Path, *, lrc: bool
    ) -> None:
        # Titles and ids come from the network: download_file passes `name` through
        # safe_filename, and a different file of the same name is never replaced.
        base = f"{slug(track.title)}-{slug(track.id[:8], 'track')}"
        mp3 = await self.download(
            track.audio_url,
            out_dir,
            f"track {number} audio",
            "audio",
            name=f"{base}.mp3",
            track_id=track.id,
        )
        art: bytes | None = None
        if track.image_url:
            art_path = await self.download(
                track.image_url,
                out_dir,
                f"track {number} art",
                "image",
                name=f"{base}{image_suffix(track.image_url)}",
                track_id=track.id,
            )
            art = await asyncio.to_thread(art_path.read_bytes)
        await self._tag(mp3, track, art)
        if lrc:
            timed = await self.client.timestamped_lyrics(task_id, track.id)
            if timed.words:
                lrc_path = out_dir / safe_filename(f"{mp3.stem}.lrc")
                self.write(lrc_path, timed.to_lrc(), "lrc", track.id)
            else:
                self.out.notice(f"track {number} has no timed lyrics (an instrumental?)")

    async def _tag(self, mp3: Path, track: Track, art: bytes | None) -> None:
        # Tags are text from the network too: a lone surrogate cannot be encoded (and would
        # leave the file untagged), and control characters have no place in a player's list.
        track = attrs.evolve(
            track,
            title=_taggable(track.title),
            tags=_taggable(track.tags),
            prompt=_taggable(track.prompt),
        )
        try:
            tagged = await asyncio.to_thread(_tags.tag_mp3, mp3, track, cover=art)
        except (OSError, ValueError) as exc:
            self.out.notice(f"could not tag {mp3}: {exc}")
            return
        if tagged:
            kinds = [
                name
                for name, present in (
                    ("title", track.title),
                    ("genre", track.tags),
                    ("cover", art),
                    ("lyrics", _tags.lyrics_of(track)),
                )
                if present
            ]
            self.out.emit(
                "tagged",
                f"tagged         {mp3.name}  ({', '.join(kinds)})",
                path=str(mp3),
                tags=kinds,
                track_id=track.id,
            )
        elif not self.shared.told_about_tags:
            self.shared.told_about_tags = True
            self.out.notice(
                "MP3s are saved without ID3 tags (title, genre, cover, lyrics); "
                f"to add them: {_tags.INSTALL_HINT}"
            )

    def done(self, summary: str, /, **fields: Any) -> None:
        self.out.emit("done", summary, files=self.files, **fields)


def _taggable(text: str) -> str:
    text = text.encode("utf-8", "replace").decode()  # a lone surrogate becomes "?"
    return "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) != "Cc")


def folder(path: Path) -> Path:
    """``path``, created if missing (a few local file-system calls; not worth a thread)."""
    path.mkdir(parents=True, exist_ok=True)
    return path


def image_suffix(url: str) -> str:
    suffix = Path(urlsplit(url).path).suffix.lower()
    return suffix if suffix in (".jpg", ".jpeg", ".png", ".webp", ".gif") else ".jpg"


def read_text(path: str) -> str:
    """The text of a file, or of stdin for ``-``."""
    if path == "-":
        return sys.stdin.read()
    return Path(path).read_text(encoding="utf-8")
