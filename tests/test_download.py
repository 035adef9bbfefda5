"""Downloading result files: streamed, atomic, resumable, tagged, never carrying the API key."""

from __future__ import annotations

import asyncio
import re
import struct
import sys
import zlib
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from anyint_music import AnyIntMusic, DownloadError, InvalidRequestError, Model, Track
from anyint_music._download import download_file
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
    (tmp_path / "again.mp3.part").write_bytes(whole[:100])
    seen: list[tuple[int, int | None]] = []

    path = await anyint_client.download(
        song.tracks[0], tmp_path / "again.mp3", progress=lambda d, t: seen.append((d, t))
    )

    assert path.read_bytes() == whole
    assert not (tmp_path / "again.mp3.part").exists()
    assert anyint_gateway.requests[-1].headers["Range"] == "bytes=100-"
    assert seen[0] == (100, len(whole))


async def test_a_complete_partial_file_is_just_renamed(
    anyint_client: AnyIntMusic, tmp_path: Path
) -> None:
    song = await anyint_client.generate(prompt="all there", model=Model.V5)
    whole = (await anyint_client.download(song.tracks[0], tmp_path / "a.mp3")).read_bytes()
    (tmp_path / "b.mp3.part").write_bytes(whole)
    path = await anyint_client.download(song.tracks[0], tmp_path / "b.mp3")
    assert path.read_bytes() == whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.mp3", "b.mp3"]


class FlakyServer:
    """A raw HTTP server for one file that can cut the body short and may ignore ranges."""

    def __init__(self, body: bytes, *, drops: int = 0, ranges: bool = True) -> None:
        self.body = body
        self.drops = drops
        self.ranges = ranges
        self.ranges_asked: list[str | None] = []
        self._server: asyncio.Server | None = None
        self.url = ""

    async def __aenter__(self) -> FlakyServer:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/song.mp3"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode()
        match = re.search(r"(?im)^range:\s*bytes=(\d+)-\s*$", head)
        self.ranges_asked.append(f"bytes={match.group(1)}-" if match else None)
        start = int(match.group(1)) if match and self.ranges else 0
        payload = self.body[start:]
        lines = [
            "HTTP/1.1 206 Partial Content" if start else "HTTP/1.1 200 OK",
            f"Content-Length: {len(payload)}",
            "Connection: close",
        ]
        if self.ranges:
            lines.append("Accept-Ranges: bytes")
        if start:
            lines.append(f"Content-Range: bytes {start}-{len(self.body) - 1}/{len(self.body)}")
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
        assert 0 < (tmp_path / "s.mp3.part").stat().st_size < len(BODY)
        assert not dest.exists()
        path = await download_file(http, server.url, dest)
    assert path.read_bytes() == BODY
    assert [p.name for p in tmp_path.iterdir()] == ["s.mp3"]


async def test_a_server_without_ranges_starts_over(tmp_path: Path) -> None:
    (tmp_path / "s.mp3.part").write_bytes(b"stale bytes from another run")
    async with FlakyServer(BODY, ranges=False) as server, aiohttp.ClientSession() as http:
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
            assert (tmp_path / "slow.mp3.part").exists()
            fetch.cancel()
            with pytest.raises(asyncio.CancelledError):
                await fetch
    finally:
        await runner.cleanup()
    assert list(tmp_path.iterdir()) == []


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
