"""Downloading result files: streamed, atomic, and never carrying the API key."""

from __future__ import annotations

from pathlib import Path

import pytest

from anyint_music import AnyIntMusic, DownloadError, InvalidRequestError, Model, Track
from anyint_music.testing import FakeGateway


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
