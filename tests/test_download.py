"""Downloading result files: streamed, atomic, resumable, tagged, never carrying the API key."""

from __future__ import annotations

import asyncio
import contextlib
import re
import struct
import sys
import zlib
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from anyint_music import AnyIntMusic, DownloadError, InvalidRequestError, Model, Track
from anyint_music._download import (
    CHUNK,
    NAME_MAX_BYTES,
    download_file,
    partial_path,
    safe_filename,
)
from anyint_music._tags import lyrics_of, tag_mp3
from anyint_music.testing import FakeGateway
from anyint_music.testing._sim_content import file_bytes


async def test_download_a_track_into_a_directory(
    anyint_gateway: FakeGateway, anyint_client: AnyIntMusic, tmp_path: Path
) -> None:
    song = await anyint_client.generate(prompt="keep this", model=Model.V5)
    path = await anyint_client.download(song.tracks[0], tmp_path)
    assert path == tmp_path / f"{song.tracks[0].id}.mp3"
    assert path.stat().st_size > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]
    fetched = [r for r in anyint_gateway.requests if r.path.startswith("/files/")]
    assert fetched
    assert all("authorization" not in {k.lower() for k in r.headers} for r in fetched)


async def test_download_to_a_file_name_with_progress(
    anyint_client: AnyIntMusic, tmp_path: Path
) -> None:
    song = await anyint_client.generate(prompt="cover me", model=Model.V5)
    seen: list[tuple[int, int | None]] = []
    path = await anyint_client.download(
        song.tracks[1].image_url, tmp_path / "art.jpeg", progress=lambda d, t: seen.append((d, t))
    )
    assert path.name == "art.jpeg"
    assert seen[-1][0] == path.stat().st_size


async def test_a_missing_file_leaves_nothing_behind(
    anyint_gateway: FakeGateway, anyint_client: AnyIntMusic, tmp_path: Path
) -> None:
    with pytest.raises(DownloadError, match="HTTP 404"):
        await anyint_client.download(f"{anyint_gateway.url}/files/nope.mp3", tmp_path / "x.mp3")
    assert list(tmp_path.iterdir()) == []


async def test_a_track_without_audio_cannot_be_downloaded(
    anyint_client: AnyIntMusic, tmp_path: Path
) -> None:
    with pytest.raises(InvalidRequestError, match="nothing to download"):
        await anyint_client.download(Track("pending-track"), tmp_path)


# --- the simulator's files are real media ------------------------------------------------------


def _png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, at = [], 8
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind, body = data[at + 4 : at + 8], data[at + 8 : at + 8 + length]
        (crc,) = struct.unpack(">I", data[at + 8 + length : at + 12 + length])
        assert crc == zlib.crc32(kind + body)
        chunks.append((kind, body))
        at += 12 + length
    return chunks


def _jpeg_markers(data: bytes) -> list[int]:
    assert data[:2] == b"\xff\xd8"
    assert data[-2:] == b"\xff\xd9"
    markers, at = [], 2
    while data[at + 1] != 0xDA:  # up to the start of scan; entropy-coded data follows
        markers.append(data[at + 1])
        (length,) = struct.unpack(">H", data[at + 2 : at + 4])
        at += 2 + length
    return [*markers, 0xDA]


async def test_downloaded_tracks_and_art_are_real_mp3_and_jpeg(
    anyint_client: AnyIntMusic, tmp_path: Path
) -> None:
    mutagen_mp3 = pytest.importorskip("mutagen.mp3")
    song = await anyint_client.generate(prompt="real bytes", model=Model.V5)
    track = song.tracks[0]
    audio = await anyint_client.download(track, tmp_path)
    info = mutagen_mp3.MP3(audio).info
    assert (info.sample_rate, info.bitrate, info.channels) == (48000, 32000, 1)
    assert 0.1 < info.length < 0.25
    art = await anyint_client.download(track.image_url, tmp_path)
    markers = _jpeg_markers(art.read_bytes())
    assert markers == [0xE0, 0xDB, 0xC0, 0xC4, 0xDA]  # JFIF, tables, baseline frame, scan
    assert (await anyint_client.download(song.tracks[1], tmp_path)).read_bytes() != (
        audio.read_bytes()
    )


async def test_cover_images_are_real_pngs(anyint_client: AnyIntMusic, tmp_path: Path) -> None:
    song = await anyint_client.generate(prompt="cover me", model=Model.V5)
    cover = await anyint_client.generate_cover(song.task_id)
    path = await anyint_client.download(cover.images[0], tmp_path)
    chunks = dict(_png_chunks(path.read_bytes()))
    width, height, depth, colour = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert (width, height, depth, colour) == (32, 32, 8, 2)
    assert len(zlib.decompress(chunks[b"IDAT"])) == height * (1 + 3 * width)


def test_simulated_files_are_deterministic_per_name() -> None:
    assert file_bytes("a.mp3") == file_bytes("a.mp3")
    assert file_bytes("a.mp3") != file_bytes("b.mp3")
    assert file_bytes("a.jpeg")[1] == "image/jpeg"
    assert file_bytes("cover-x-1.png")[1] == "image/png"


async def test_the_simulator_answers_byte_ranges(
    anyint_gateway: FakeGateway, anyint_client: AnyIntMusic
) -> None:
    song = await anyint_client.generate(prompt="ranges", model=Model.V5)
    url = song.tracks[0].audio_url
    async with aiohttp.ClientSession() as http:
        async with http.get(url) as resp:
            whole = await resp.read()
            assert resp.headers["Accept-Ranges"] == "bytes"
        async with http.get(url, headers={"Range": "bytes=100-"}) as resp:
            assert resp.status == 206
            assert resp.headers["Content-Range"] == f"bytes 100-{len(whole) - 1}/{len(whole)}"
            assert await resp.read() == whole[100:]
        async with http.get(url, headers={"Range": "bytes=-10"}) as resp:
            assert (resp.status, await resp.read()) == (206, whole[-10:])
        async with http.get(url, headers={"Range": f"bytes={len(whole)}-"}) as resp:
            assert resp.status == 416
            assert resp.headers["Content-Range"] == f"bytes */{len(whole)}"


# --- resuming ----------------------------------------------------------------------------------


async def test_a_partial_file_is_resumed_with_a_range_request(
    anyint_gateway: FakeGateway, anyint_client: AnyIntMusic, tmp_path: Path
) -> None:
    song = await anyint_client.generate(prompt="resume me", model=Model.V5)
    whole = (await anyint_client.download(song.tracks[0], tmp_path / "first.mp3")).read_bytes()
    partial = partial_path(song.tracks[0].audio_url, tmp_path / "again.mp3")
    partial.write_bytes(whole[:100])
    seen: list[tuple[int, int | None]] = []

    path = await anyint_client.download(
        song.tracks[0], tmp_path / "again.mp3", progress=lambda d, t: seen.append((d, t))
    )

    assert path.read_bytes() == whole
    assert not partial.exists()
    assert anyint_gateway.requests[-1].headers["Range"] == "bytes=100-"
    assert seen[0] == (100, len(whole))


async def test_a_complete_partial_file_is_just_renamed(
    anyint_client: AnyIntMusic, tmp_path: Path
) -> None:
    song = await anyint_client.generate(prompt="all there", model=Model.V5)
    whole = (await anyint_client.download(song.tracks[0], tmp_path / "a.mp3")).read_bytes()
    partial_path(song.tracks[0].audio_url, tmp_path / "b.mp3").write_bytes(whole)
    path = await anyint_client.download(song.tracks[0], tmp_path / "b.mp3")
    assert path.read_bytes() == whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.mp3", "b.mp3"]


class FlakyServer:
    """A raw HTTP server for one file that can cut the body short and may ignore ranges."""

    def __init__(
        self,
        body: bytes,
        *,
        drops: int = 0,
        ranges: bool = True,
        others: dict[str, bytes] | None = None,
    ) -> None:
        self.body = body
        self.others = others or {}  # more files by path; `body` answers every other path
        self.drops = drops
        self.ranges = ranges
        self.ranges_asked: list[str | None] = []
        self._server: asyncio.Server | None = None
        self.url = ""

    async def __aenter__(self) -> FlakyServer:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.base = f"http://127.0.0.1:{port}"
        self.url = f"{self.base}/song.mp3"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode()
        body = self.others.get(head.split(" ", 2)[1], self.body)
        match = re.search(r"(?im)^range:\s*bytes=(\d+)-\s*$", head)
        self.ranges_asked.append(f"bytes={match.group(1)}-" if match else None)
        start = int(match.group(1)) if match and self.ranges else 0
        payload = body[start:]
        lines = [
            "HTTP/1.1 206 Partial Content" if start else "HTTP/1.1 200 OK",
            f"Content-Length: {len(payload)}",
            "Connection: close",
        ]
        if self.ranges:
            lines.append("Accept-Ranges: bytes")
        if start:
            lines.append(f"Content-Range: bytes {start}-{len(body) - 1}/{len(body)}")
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        cut = self.drops > 0
        if cut:
            self.drops -= 1
            payload = payload[: len(payload) // 3]
        writer.write(payload)
        await writer.drain()
        if cut:
            await asyncio.sleep(0.05)  # let the client read what came before the line drops
        writer.close()
        await writer.wait_closed()


BODY = bytes(range(256)) * 40


async def test_a_dropped_connection_resumes_within_the_call(tmp_path: Path) -> None:
    async with FlakyServer(BODY, drops=1) as server, aiohttp.ClientSession() as http:
        path = await download_file(http, server.url, tmp_path / "s.mp3", retry_delay=0.01)
    assert path.read_bytes() == BODY
    assert server.ranges_asked[0] is None
    assert server.ranges_asked[1] == f"bytes={len(BODY) // 3}-"


async def test_a_download_cut_off_every_time_keeps_the_part_for_the_next_call(
    tmp_path: Path,
) -> None:
    dest = tmp_path / "s.mp3"
    async with FlakyServer(BODY, drops=2) as server, aiohttp.ClientSession() as http:
        with pytest.raises(DownloadError, match="resumes it"):
            await download_file(http, server.url, dest, attempts=2, retry_delay=0.01)
        assert 0 < partial_path(server.url, dest).stat().st_size < len(BODY)
        assert not dest.exists()
        path = await download_file(http, server.url, dest)
    assert path.read_bytes() == BODY
    assert [p.name for p in tmp_path.iterdir()] == ["s.mp3"]


async def test_a_server_without_ranges_starts_over(tmp_path: Path) -> None:
    async with FlakyServer(BODY, ranges=False) as server, aiohttp.ClientSession() as http:
        partial_path(server.url, tmp_path / "s.mp3").write_bytes(b"stale bytes from another run")
        path = await download_file(http, server.url, tmp_path / "s.mp3")
    assert path.read_bytes() == BODY
    assert server.ranges_asked == ["bytes=28-"]


async def test_a_cut_off_download_without_range_support_leaves_nothing(tmp_path: Path) -> None:
    async with FlakyServer(BODY, drops=1, ranges=False) as server, aiohttp.ClientSession() as http:
        with pytest.raises(DownloadError):
            await download_file(http, server.url, tmp_path / "s.mp3")
    assert list(tmp_path.iterdir()) == []


async def test_a_cancelled_download_from_a_non_resumable_server_leaves_nothing(
    tmp_path: Path,
) -> None:
    async def forever(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Length": "100000"})
        await response.prepare(request)
        await response.write(b"x" * 1000)
        await asyncio.sleep(30)
        return response

    app = web.Application()
    app.router.add_get("/slow.mp3", forever)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        started = asyncio.Event()
        async with aiohttp.ClientSession() as http:
            fetch = asyncio.ensure_future(
                download_file(
                    http,
                    f"http://127.0.0.1:{port}/slow.mp3",
                    tmp_path,
                    progress=lambda done, _: started.set() if done else None,
                )
            )
            await started.wait()
            assert partial_path(f"http://127.0.0.1:{port}/slow.mp3", tmp_path).exists()
            fetch.cancel()
            with pytest.raises(asyncio.CancelledError):
                await fetch
    finally:
        await runner.cleanup()
    assert list(tmp_path.iterdir()) == []


# --- names from URLs, and files already there -------------------------------------------------


class AnyPath:
    """A file server on 127.0.0.1 that answers every path, raw as sent, with bytes of its own."""

    def __init__(self) -> None:
        self.runner: web.ServerRunner | None = None
        self.url = ""

    @staticmethod
    def body(raw_path: str) -> bytes:
        return f"the bytes of {raw_path}".encode()

    async def _any(self, request: web.BaseRequest) -> web.StreamResponse:
        return web.Response(body=self.body(request.raw_path))

    async def __aenter__(self) -> AnyPath:
        # The low-level server: no router to refuse odd paths before the handler sees them.
        self.runner = web.ServerRunner(web.Server(self._any))
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self.runner.addresses[0][1]}"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self.runner is not None
        await self.runner.cleanup()


HOSTILE_SEGMENTS = [
    ("..%2Fvictim.mp3", "victim.mp3"),
    ("..%2F..%2Fvictim.mp3", "victim.mp3"),
    ("%2E%2E%5C..%5Cvictim.mp3", "victim.mp3"),
    ("%2E%2E", "download"),
    ("%00.mp3%0A%1B%5B31m", "mp3[31m"),
    (".hidden.mp3", "hidden.mp3"),
    ("NUL.mp3", "_NUL.mp3"),
    ("x" * 300 + ".mp3", "x" * 196 + ".mp3"),
]


@pytest.mark.parametrize(("segment", "saved"), HOSTILE_SEGMENTS)
async def test_a_file_named_by_its_url_stays_in_the_folder(
    anyint_client: AnyIntMusic, tmp_path: Path, segment: str, saved: str
) -> None:
    songs = tmp_path / "a" / "songs"
    songs.mkdir(parents=True)
    victims = [tmp_path / "a" / "victim.mp3", tmp_path / "victim.mp3"]
    for victim in victims:
        victim.write_bytes(b"precious")
    async with AnyPath() as files:
        path = await anyint_client.download(f"{files.url}/files/{segment}", songs)
    assert path == songs / saved
    assert path.read_bytes().startswith(b"the bytes of /")  # the client may normalise the path
    assert [p.name for p in songs.iterdir()] == [saved]
    assert all(victim.read_bytes() == b"precious" for victim in victims)


async def test_an_absolute_path_in_the_url_stays_in_the_folder(
    anyint_client: AnyIntMusic, tmp_path: Path
) -> None:
    victim = tmp_path / "victim.mp3"
    victim.write_bytes(b"precious")
    segment = str(victim).replace("/", "%2F")
    async with AnyPath() as files:
        path = await anyint_client.download(f"{files.url}/{segment}", tmp_path / "songs")
    # `songs` did not exist and has no trailing slash: it is the file to write.
    assert path == tmp_path / "songs"
    assert victim.read_bytes() == b"precious"
    async with AnyPath() as files:
        path = await anyint_client.download(f"{files.url}/{segment}", tmp_path)
    assert path == tmp_path / "victim-2.mp3"
    assert victim.read_bytes() == b"precious"


async def test_a_destination_ending_in_a_slash_is_a_new_folder(
    anyint_client: AnyIntMusic, tmp_path: Path
) -> None:
    async with AnyPath() as files:
        path = await anyint_client.download(f"{files.url}/x/song.mp3", f"{tmp_path}/new/songs/")
    assert path == tmp_path / "new" / "songs" / "song.mp3"
    assert path.read_bytes() == AnyPath.body("/x/song.mp3")


async def test_a_different_file_of_the_same_name_is_never_replaced(
    anyint_client: AnyIntMusic, tmp_path: Path
) -> None:
    async with AnyPath() as files:
        first = await anyint_client.download(f"{files.url}/a/song.mp3", tmp_path)
        second = await anyint_client.download(f"{files.url}/b/song.mp3", tmp_path)
        third = await anyint_client.download(f"{files.url}/c/song.mp3", tmp_path)
        again = await anyint_client.download(f"{files.url}/b/song.mp3", tmp_path)
    assert [first.name, second.name, third.name] == ["song.mp3", "song-2.mp3", "song-3.mp3"]
    assert first.read_bytes() == AnyPath.body("/a/song.mp3")
    assert second.read_bytes() == AnyPath.body("/b/song.mp3")
    assert again == second  # the same bytes again: settled on the file already there
    assert sorted(p.name for p in tmp_path.iterdir()) == ["song-2.mp3", "song-3.mp3", "song.mp3"]


async def test_a_download_never_writes_through_a_link_in_the_folder(
    anyint_client: AnyIntMusic, tmp_path: Path
) -> None:
    outside = tmp_path / "outside.mp3"
    outside.write_bytes(b"precious")
    songs = tmp_path / "songs"
    songs.mkdir()
    (songs / "song.mp3").symlink_to(outside)
    async with AnyPath() as files:
        path = await anyint_client.download(f"{files.url}/song.mp3", songs)
    assert path == songs / "song-2.mp3"
    assert outside.read_bytes() == b"precious"


async def test_a_partial_file_is_only_ever_continued_by_its_own_url(tmp_path: Path) -> None:
    other = bytes(reversed(BODY))
    async with (
        FlakyServer(BODY, drops=1, others={"/b/song.mp3": other}) as server,
        aiohttp.ClientSession() as http,
    ):
        with pytest.raises(DownloadError, match="resumes it"):
            await download_file(http, f"{server.base}/a/song.mp3", tmp_path, attempts=1)
        b = await download_file(http, f"{server.base}/b/song.mp3", tmp_path)
        a = await download_file(http, f"{server.base}/a/song.mp3", tmp_path)
    assert server.ranges_asked == [None, None, f"bytes={len(BODY) // 3}-"]
    assert (b.name, b.read_bytes()) == ("song.mp3", other)
    assert (a.name, a.read_bytes()) == ("song-2.mp3", BODY)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["song-2.mp3", "song.mp3"]


def test_safe_filename_leaves_a_plain_name() -> None:
    assert safe_filename("/etc/passwd") == "passwd"
    assert safe_filename("..") == "download"
    assert safe_filename("", "track.mp3") == "track.mp3"
    assert safe_filename("a\x00b\x1b]0;t\x07\u202e\ud800.mp3") == "ab]0;t.mp3"
    assert safe_filename('a<b>:"c|?*.mp3') == "a_b___c___.mp3"
    assert safe_filename("com1.txt") == "_com1.txt"
    assert safe_filename(" . name. . ") == "name"
    long = safe_filename("é" * 300 + ".flac")
    assert long.endswith(".flac")
    assert len(long.encode()) <= NAME_MAX_BYTES
    long.encode().decode()  # not cut in the middle of a character


# --- size limits -------------------------------------------------------------------------------


async def test_max_bytes_refuses_an_announced_size_up_front(
    anyint_gateway: FakeGateway, anyint_client: AnyIntMusic, tmp_path: Path
) -> None:
    song = await anyint_client.generate(prompt="too big", model=Model.V5)
    size = (await anyint_client.download(song.tracks[0], tmp_path / "a.mp3")).stat().st_size
    fetched = len(anyint_gateway.requests)
    with pytest.raises(DownloadError, match=f"limit of {size - 1} bytes.*it is {size} bytes"):
        await anyint_client.download(song.tracks[0], tmp_path / "b.mp3", max_bytes=size - 1)
    assert len(anyint_gateway.requests) == fetched + 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.mp3"]
    path = await anyint_client.download(song.tracks[0], tmp_path / "b.mp3", max_bytes=size)
    assert path.stat().st_size == size


async def test_max_bytes_stops_a_stream_of_unannounced_size(tmp_path: Path) -> None:
    sent: list[int] = []

    async def endless(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.enable_chunked_encoding()  # no Content-Length: the size is not announced
        await response.prepare(request)
        with contextlib.suppress(ConnectionError):
            for _ in range(64):
                await response.write(b"x" * CHUNK)
                sent.append(CHUNK)
        return response

    app = web.Application()
    app.router.add_get("/big.mp3", endless)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/big.mp3"
    try:
        async with aiohttp.ClientSession() as http:
            with pytest.raises(DownloadError, match="limit of 100000 bytes"):
                await download_file(http, url, tmp_path, max_bytes=100_000)
    finally:
        await runner.cleanup()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "100"])
async def test_max_bytes_must_be_a_positive_whole_number(
    anyint_client: AnyIntMusic, tmp_path: Path, bad: object
) -> None:
    with pytest.raises(InvalidRequestError, match="max_bytes"):
        await anyint_client.download(
            "http://127.0.0.1:9/x.mp3",
            tmp_path,
            max_bytes=bad,  # type: ignore[arg-type]
        )


# --- ID3 tags ----------------------------------------------------------------------------------


async def test_tags_are_written_and_read_back_with_mutagen(
    anyint_client: AnyIntMusic, tmp_path: Path
) -> None:
    id3 = pytest.importorskip("mutagen.id3")
    song = await anyint_client.generate(prompt="tag me", model=Model.V5)
    track = song.tracks[0]
    path = await anyint_client.download(track, tmp_path)
    art = (await anyint_client.download(track.image_url, tmp_path)).read_bytes()

    assert tag_mp3(path, track, cover=art) is True

    tags = id3.ID3(path)
    assert tags.version == (2, 3, 0)
    assert tags["TIT2"].text == [track.title]
    assert tags["TCON"].text == [track.tags]
    cover = tags.getall("APIC")[0]
    assert (cover.mime, cover.type, cover.data) == ("image/jpeg", 3, art)
    assert tags.getall("USLT")[0].text == track.prompt.strip()
    assert pytest.importorskip("mutagen.mp3").MP3(path).info.sample_rate == 48000


def test_instrumentals_and_descriptions_get_no_lyrics_tag() -> None:
    assert lyrics_of(Track("a", prompt="")) is None
    assert lyrics_of(Track("a", prompt="a calm piano piece")) is None
    assert lyrics_of(Track("a", prompt="[Verse]\nla la")) == "[Verse]\nla la"


def test_without_mutagen_tagging_does_nothing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "mutagen", None)
    monkeypatch.setitem(sys.modules, "mutagen.id3", None)
    path = tmp_path / "song.mp3"
    path.write_bytes(file_bytes("song.mp3")[0])
    assert tag_mp3(path, Track("a", title="Title")) is False
    assert path.read_bytes() == file_bytes("song.mp3")[0]


async def test_download_with_tags_from_the_library(
    anyint_client: AnyIntMusic, tmp_path: Path
) -> None:
    mutagen_id3 = pytest.importorskip("mutagen.id3")
    lyrics = "[Verse]\nTagged from the library\nAnother line"
    song = await anyint_client.generate(
        lyrics, model=Model.V5, custom_mode=True, style="synthpop", title="Library Tags"
    )
    path = await anyint_client.download(song.tracks[0], tmp_path, tag=True)
    tags = mutagen_id3.ID3(path)
    assert str(tags["TIT2"]) == "Library Tags"
    assert "synthpop" in str(tags["TCON"])
    assert tags.getall("APIC")
    assert "Tagged from the library" in tags.getall("USLT")[0].text
