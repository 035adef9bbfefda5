"""The callback path: tokens, status answers, lenient parsing, and isolation between tasks."""

from __future__ import annotations

import asyncio
import gzip
import json
from typing import Any

import pytest
from _helpers import callback_url, post
from yarl import URL

from anyint_music import (
    AnyIntMusic,
    Model,
    MusicResult,
    Stage,
    Task,
    TaskFailedError,
    TaskTimeoutError,
)
from anyint_music.testing import FakeGateway


def track(
    audio_id: str, *, url: str = "https://files.example.test/a.mp3", **extra: Any
) -> dict[str, Any]:
    return {
        "id": audio_id,
        "audio_url": url,
        "stream_audio_url": url + "?stream",
        "image_url": url + ".jpeg",
        "prompt": "[Verse]\nla la",
        "model_name": "chirp-crow",
        "title": "T",
        "tags": "pop",
        "createTime": "2025-01-01 00:00:00",
        "duration": 180.5,
        **extra,
    }


def music(
    task_id: str,
    stage: str = "complete",
    *,
    code: int = 200,
    items: Any = None,
    key: str = "task_id",
) -> dict[str, Any]:
    if items is None and stage == "complete":
        items = [track("a1"), track("a2")]
    return {"code": code, "msg": "ok", "data": {"callbackType": stage, key: task_id, "data": items}}


async def _untouched_then_resolved(task: Task[MusicResult], url: str) -> None:
    """The refused request left ``task`` waiting, and its real callback still resolves it."""
    assert not task.done()
    assert (await post(url, music(task.id)))[0] == 200
    assert len((await task.wait(timeout=5)).tracks) == 2


async def test_unknown_token_is_404_and_touches_nothing(
    quiet_gateway: FakeGateway, anyint_client: AnyIntMusic
) -> None:
    task = await anyint_client.submit_generate("a", model=Model.V5)
    url = callback_url(quiet_gateway)
    base = url.rsplit("/", 1)[0]
    status, _ = await post(base + "/not-a-real-token", music(task.id))
    assert status == 404
    await _untouched_then_resolved(task, url)


async def test_wrong_task_id_for_token_is_409_and_the_real_one_still_resolves(
    quiet_gateway: FakeGateway, anyint_client: AnyIntMusic
) -> None:
    a = await anyint_client.submit_generate("first", model=Model.V5)
    b = await anyint_client.submit_generate("second", model=Model.V5)
    url_a = callback_url(quiet_gateway, -2)
    status, _ = await post(url_a, music(b.id))  # b's result sent to a's token
    assert status == 409
    assert not a.done()
    assert not b.done()
    await post(url_a, music(a.id, items=[track("x1"), track("x2")]))
    await post(callback_url(quiet_gateway, -1), music(b.id, items=[track("y1"), track("y2")]))
    assert [t.id for t in (await a).tracks] == ["x1", "x2"]
    assert [t.id for t in (await b).tracks] == ["y1", "y2"]


@pytest.mark.parametrize(
    "raw",
    [
        b'{"code": 200, "data": {"callbackType": ["complete"], "task_id": "{id}"}}',
        b'{"code": Infinity, "data": {"callbackType": "complete", "task_id": "{id}"}}',
        b'{"code": 1e999, "data": {"callbackType": "complete", "task_id": "{id}"}}',
        b"[" * 100_000 + b"]" * 100_000,
        b"not json",
        b"\xff\xfe\x00garbage",
        b"[1, 2, 3]",
        b'"a string"',
        json.dumps({"code": 200, "msg": "ok"}).encode(),  # no task id anywhere
        json.dumps(
            {"code": 200, "data": {"callbackType": "bogus", "task_id": "{id}", "data": []}}
        ).encode(),
        json.dumps(
            {"code": "two hundred", "data": {"callbackType": "complete", "task_id": "{id}"}}
        ).encode(),
        json.dumps(
            {
                "code": 200,
                "data": {"callbackType": "complete", "task_id": "{id}", "data": {"id": 1}},
            }
        ).encode(),
        json.dumps(
            {
                "code": 200,
                "data": {
                    "callbackType": "complete",
                    "task_id": "{id}",
                    "data": [{"audio_url": "x"}],
                },
            }
        ).encode(),
        json.dumps(
            {
                "code": 200,
                "data": {
                    "callbackType": "complete",
                    "task_id": "{id}",
                    "data": [{"id": "a", "duration": True}],
                },
            }
        ).encode(),
    ],
)
async def test_malformed_body_is_400_and_the_task_still_resolves(
    quiet_gateway: FakeGateway, anyint_client: AnyIntMusic, raw: bytes
) -> None:
    task = await anyint_client.submit_generate("a", model=Model.V5)
    url = callback_url(quiet_gateway)
    status, text = await post(
        url,
        data=raw.replace(b"{id}", task.id.encode()),
        headers={"Content-Type": "application/json"},
    )
    assert status == 400, text
    assert "malformed" in text
    await _untouched_then_resolved(task, url)


async def test_oversized_body_is_413(quiet_gateway: FakeGateway) -> None:
    async with AnyIntMusic(
        api_key=quiet_gateway.api_key, base_url=quiet_gateway.url, max_callback_bytes=2048
    ) as client:
        task = await client.submit_generate("a", model=Model.V5)
        url = callback_url(quiet_gateway)
        huge = music(task.id, items=[track("a1", prompt="x" * 5000), track("a2")])
        assert (await post(url, huge))[0] == 413
        assert (await post(url, music(task.id)))[0] == 200
        assert len((await task).tracks) == 2


async def test_a_compressed_body_is_read_and_its_unpacked_size_is_capped(
    quiet_gateway: FakeGateway,
) -> None:
    async with AnyIntMusic(
        api_key=quiet_gateway.api_key, base_url=quiet_gateway.url, max_callback_bytes=4096
    ) as client:
        task = await client.submit_generate("a", model=Model.V5)
        url = callback_url(quiet_gateway)
        gz = {"Content-Encoding": "gzip", "Content-Type": "application/json"}
        # Small on the wire, over the cap once unpacked: refused, the task still waits.
        bomb = music(task.id, items=[track("a1", prompt="x" * 50_000), track("a2")])
        assert (await post(url, data=gzip.compress(json.dumps(bomb).encode()), headers=gz))[
            0
        ] == 413
        assert not task.done()
        body = gzip.compress(json.dumps(music(task.id)).encode())
        assert (await post(url, data=body, headers=gz))[0] == 200
        assert len((await task.wait(timeout=5)).tracks) == 2


async def test_other_methods_are_405(
    quiet_gateway: FakeGateway, anyint_client: AnyIntMusic
) -> None:
    await anyint_client.submit_generate("a", model=Model.V5)
    url = callback_url(quiet_gateway)
    for method in ("GET", "PUT", "DELETE"):
        assert (await post(url, method=method))[0] == 405


async def test_a_sender_that_expects_100_continue_gets_it_before_its_body(
    quiet_gateway: FakeGateway, anyint_client: AnyIntMusic
) -> None:
    # Clients such as curl ask first for bodies over 1 KiB and wait for "100 Continue".
    task = await anyint_client.submit_generate("a", model=Model.V5)
    url = URL(callback_url(quiet_gateway))
    body = json.dumps(music(task.id)).encode()
    reader, writer = await asyncio.open_connection(url.host, url.port)
    try:
        writer.write(
            f"POST {url.raw_path} HTTP/1.1\r\nHost: {url.host}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            "Expect: 100-continue\r\n\r\n".encode()
        )
        interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        assert interim.startswith(b"HTTP/1.1 100 Continue"), interim
        writer.write(body)
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        assert head.startswith(b"HTTP/1.1 200"), head
    finally:
        writer.close()
    assert len((await task.wait(timeout=5)).tracks) == 2


async def test_an_expectation_other_than_100_continue_is_417_and_touches_nothing(
    quiet_gateway: FakeGateway, anyint_client: AnyIntMusic
) -> None:
    task = await anyint_client.submit_generate("a", model=Model.V5)
    url = callback_url(quiet_gateway)
    status, _ = await post(url, music(task.id), headers={"Expect": "something-else"})
    assert status == 417
    await _untouched_then_resolved(task, url)


async def test_paths_beside_the_callback_route_are_404_or_405(
    quiet_gateway: FakeGateway, anyint_client: AnyIntMusic
) -> None:
    task = await anyint_client.submit_generate("a", model=Model.V5)
    url = callback_url(quiet_gateway)
    base = url.rsplit("/", 1)[0]
    assert (await post(url + "/more", music(task.id)))[0] == 404
    assert (await post(base + "/", music(task.id)))[0] == 404
    assert (await post(base.rsplit("/", 2)[0] + "/elsewhere", music(task.id)))[0] == 404
    assert (await post(base + "/probe/abc", music(task.id)))[0] == 405
    assert (await post(base + "/files/abc/a.mp3", music(task.id)))[0] == 405
    await _untouched_then_resolved(task, url)


async def test_duplicates_answer_200_and_resolve_once(
    quiet_gateway: FakeGateway, anyint_client: AnyIntMusic
) -> None:
    task = await anyint_client.submit_generate("a", model=Model.V5)
    url = callback_url(quiet_gateway)
    first = music(task.id, items=[track("one"), track("two")])
    second = music(task.id, items=[track("three"), track("four")])
    assert (await post(url, first))[0] == 200
    assert (await post(url, second))[0] == 200
    assert (await post(url, first))[0] == 200
    assert [t.id for t in (await task).tracks] == ["one", "two"]
    assert task.stages == (Stage.COMPLETE,)


async def test_stages_arrive_as_events(
    quiet_gateway: FakeGateway, anyint_client: AnyIntMusic
) -> None:
    task = await anyint_client.submit_generate("a", model=Model.V5)
    url = callback_url(quiet_gateway)
    await post(url, music(task.id, "text", items=[]))
    await post(url, music(task.id, "text", items=None))  # duplicate stage, data null
    await post(url, music(task.id, "first", items=[track("a1")]))
    await post(url, music(task.id, "complete"))
    stages = [(e.stage, len(e.tracks)) async for e in task.events(timeout=5)]
    assert stages == [(Stage.TEXT, 0), (Stage.FIRST, 1), (Stage.COMPLETE, 2)]


async def test_unwrapped_body_with_camel_task_id_is_accepted(
    quiet_gateway: FakeGateway, anyint_client: AnyIntMusic
) -> None:
    task = await anyint_client.submit_generate("a", model=Model.V5)
    body = {
        "callbackType": "complete",
        "taskId": task.id,
        "data": [track("u1", future_field=[1]), track("u2")],
    }
    assert (await post(callback_url(quiet_gateway), body))[0] == 200
    result = await task
    assert result.tracks[0].id == "u1"
    assert result.tracks[0].extra == {"future_field": [1]}


async def test_error_callback_fails_the_wait_with_code_and_message(
    quiet_gateway: FakeGateway, anyint_client: AnyIntMusic
) -> None:
    task = await anyint_client.submit_generate("a", model=Model.V5)
    body = {
        "code": 531,
        "msg": "Generation failed, credits refunded",
        "data": {"callbackType": "error", "task_id": task.id, "data": None},
    }
    assert (await post(callback_url(quiet_gateway), body))[0] == 200
    with pytest.raises(TaskFailedError) as info:
        await task
    assert (info.value.task_id, info.value.code) == (task.id, 531)
    assert "credits refunded" in info.value.message
    assert "longer, more specific prompt" in str(info.value)


async def test_non_200_code_on_a_complete_stage_is_a_failure(
    quiet_gateway: FakeGateway, anyint_client: AnyIntMusic
) -> None:
    task = await anyint_client.submit_generate("a", model=Model.V5)
    await post(callback_url(quiet_gateway), music(task.id, "complete", code=400, items=None))
    with pytest.raises(TaskFailedError) as info:
        await task
    assert info.value.code == 400


async def test_complete_without_audio_urls_is_not_taken_as_success(
    quiet_gateway: FakeGateway, anyint_client: AnyIntMusic
) -> None:
    task = await anyint_client.submit_generate("a", model=Model.V5)
    url = callback_url(quiet_gateway)
    assert (await post(url, music(task.id, items=[track("e1", url=""), track("e2")])))[0] == 200
    assert (await post(url, music(task.id, items=[])))[0] == 200
    with pytest.raises(TaskTimeoutError):
        await task.wait(timeout=0.2)
    await post(url, music(task.id))
    assert len((await task.wait(timeout=5)).tracks) == 2


async def test_late_duplicate_after_the_result_still_gets_200(
    quiet_gateway: FakeGateway, anyint_client: AnyIntMusic
) -> None:
    task = await anyint_client.submit_generate("a", model=Model.V5)
    url = callback_url(quiet_gateway)
    await post(url, music(task.id))
    await task
    assert (await post(url, music(task.id)))[0] == 200
    assert (await post(url, music(task.id, "first", items=[track("a1")])))[0] == 200


async def test_lyrics_failure_in_kie_shape_fails_the_wait(
    quiet_gateway: FakeGateway, anyint_client: AnyIntMusic
) -> None:
    task = await anyint_client.submit_lyrics("a ballad")
    body = {
        "code": 400,
        "msg": "The description contained an artist name",
        "data": {"callbackType": "complete", "task_id": task.id, "data": None},
    }
    assert (await post(callback_url(quiet_gateway), body))[0] == 200
    with pytest.raises(TaskFailedError, match="artist name"):
        await task


async def test_lyrics_with_every_variant_failed_is_a_failure(
    quiet_gateway: FakeGateway, anyint_client: AnyIntMusic
) -> None:
    task = await anyint_client.submit_lyrics("a ballad")
    variants = [
        {"text": "", "title": "", "status": "failed", "errorMessage": "flagged for moderation"}
    ]
    body = {
        "code": 200,
        "msg": "ok",
        "data": {"callbackType": "complete", "taskId": task.id, "data": variants},
    }
    await post(callback_url(quiet_gateway), body)
    with pytest.raises(TaskFailedError, match="flagged for moderation"):
        await task


async def test_early_callbacks_are_claimed_on_bind(
    anyint_gateway: FakeGateway, anyint_client: AnyIntMusic
) -> None:
    anyint_gateway.early_callbacks = True
    song = await anyint_client.generate(prompt="early bird", model=Model.V5)
    assert len(song.tracks) == 2
    # the gateway delivered before it answered the submit: the receiver held them on the token
    assert [c.stage for c in anyint_gateway.callbacks] == ["text", "first", "complete"]


async def test_duplicate_deliveries_from_the_gateway_resolve_once(
    anyint_gateway: FakeGateway, anyint_client: AnyIntMusic
) -> None:
    anyint_gateway.duplicates = 2
    task = await anyint_client.submit_generate("echo", model=Model.V5)
    await task
    events = [e.stage async for e in task.events()]
    assert events == [Stage.TEXT, Stage.FIRST, Stage.COMPLETE]
    await anyint_gateway.wait_idle()
    assert all(c.status == 200 for c in anyint_gateway.callbacks)


async def test_unwrapped_and_skipped_stages_from_the_gateway(
    anyint_gateway: FakeGateway, anyint_client: AnyIntMusic
) -> None:
    anyint_gateway.unwrapped = True
    anyint_gateway.skip_stages = True
    task = await anyint_client.submit_generate("straight to the end", model=Model.V5)
    assert len((await task).tracks) == 2
    assert task.stages == (Stage.COMPLETE,)


async def test_failed_task_from_the_gateway(
    anyint_gateway: FakeGateway, anyint_client: AnyIntMusic
) -> None:
    anyint_gateway.fail_tasks(code=501, message="Audio generation failed")
    with pytest.raises(TaskFailedError) as info:
        await anyint_client.generate(prompt="doomed", model=Model.V5)
    assert info.value.code == 501
    # the next task is fine
    assert len((await anyint_client.generate(prompt="fine", model=Model.V5)).tracks) == 2


async def test_early_duplicates_do_not_crowd_out_the_final_stage(
    anyint_gateway: FakeGateway,
) -> None:
    anyint_gateway.early_callbacks = True
    anyint_gateway.duplicates = 3
    async with AnyIntMusic(
        api_key=anyint_gateway.api_key, base_url=anyint_gateway.url, poll_interval=None
    ) as client:
        song = await client.generate(prompt="crowded", model=Model.V5, timeout=10)
    assert len(song.tracks) == 2
