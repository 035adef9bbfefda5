"""Hostile input to the receiver: random bodies, headers, paths, methods and encodings never
yield a 5xx, and never disturb, resolve or misroute a real pending task."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
from _helpers import callback_url, post
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from yarl import URL

from anyint_music import AnyIntMusic, Model
from anyint_music.testing import FakeGateway

json_leaf = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
)
json_value = st.recursive(
    json_leaf,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)
FIELDS = ["code", "msg", "data", "callbackType", "task_id", "taskId", "images", "id", "audio_url"]
STAGES = ["text", "first", "complete", "error", "failed", "bogus", None, 7]


@st.composite
def callback_like(draw: st.DrawFn, foreign_ids: list[str]) -> Any:
    """Bodies shaped like callbacks, but with a task id that is not the token's own."""
    task_id = draw(st.sampled_from([*foreign_ids, "", "0" * 32, None]) | st.text(max_size=40))
    items = draw(
        st.none()
        | st.lists(st.dictionaries(st.sampled_from(FIELDS), json_value, max_size=5), max_size=3)
    )
    inner = {
        "callbackType": draw(st.sampled_from(STAGES)),
        draw(st.sampled_from(["task_id", "taskId"])): task_id,
        "data": items,
    }
    if draw(st.booleans()):
        return inner
    return {
        "code": draw(st.sampled_from([200, 400, 501, "200", None, True])),
        "msg": draw(json_value),
        "data": inner,
    }


@st.composite
def hostile_request(
    draw: st.DrawFn, tokens: list[str], foreign_ids: list[list[str]]
) -> dict[str, Any]:
    which = draw(st.integers(0, len(tokens) - 1))
    path = draw(
        st.sampled_from(
            [
                f"/anyint/callbacks/{tokens[which]}",
                f"/anyint/callbacks/{tokens[which]}/extra",
                f"/anyint/callbacks/{tokens[which][:-1]}",
                "/anyint/callbacks/",
                "/anyint/callbacks/%00",
                "/anyint/callbacks/..%2F..%2Fetc",
                "/",
            ]
        )
        | st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_%.", max_size=60).map(
            lambda t: "/anyint/callbacks/" + t
        )
    )
    kind = draw(st.sampled_from(["callback", "json", "bytes", "text"]))
    if kind == "callback":
        body = json.dumps(draw(callback_like(foreign_ids[which]))).encode()
    elif kind == "json":
        body = json.dumps(draw(json_value)).encode()
    elif kind == "bytes":
        body = draw(st.binary(max_size=300))
    else:
        body = draw(st.text(max_size=200)).encode("utf-8", "surrogatepass")
    headers = {}
    if draw(st.booleans()):
        headers["Content-Type"] = draw(
            st.sampled_from(
                [
                    "application/json",
                    "text/plain",
                    "application/x-www-form-urlencoded",
                    "multipart/form-data; boundary=x",
                    "application/json; charset=latin-1",
                    "\u00ff",
                ]
            )
        )
    if draw(st.integers(0, 5)) == 0:
        headers["Content-Encoding"] = draw(
            st.sampled_from(["gzip", "deflate", "br", "identity", "x-unknown"])
        )
    method = draw(
        st.sampled_from(["POST", "POST", "POST", "GET", "PUT", "DELETE", "PATCH", "OPTIONS"])
    )
    return {"method": method, "path": path, "body": body, "headers": headers}


async def _scenario(requests_for: Any) -> None:
    async with (
        FakeGateway(drop_callbacks=True) as gw,
        AnyIntMusic(
            api_key=gw.api_key, base_url=gw.url, poll_interval=None, max_callback_bytes=4096
        ) as client,
    ):
        tasks = [await client.submit_generate(f"real {i}", model=Model.V5) for i in range(3)]
        urls = [r.json["callBackUrl"] for r in gw.requests if r.json and "callBackUrl" in r.json]
        tokens = [u.rsplit("/", 1)[1] for u in urls]
        base = urls[0].rsplit("/anyint/", 1)[0]
        foreign = [[t.id for t in tasks if t is not own] for own in tasks]
        statuses = []
        async with aiohttp.ClientSession(auto_decompress=False) as session:
            for req in requests_for(tokens, foreign):
                url = URL(base + req["path"], encoded=True)
                try:
                    async with session.request(
                        req["method"], url, data=req["body"], headers=req["headers"]
                    ) as resp:
                        statuses.append(resp.status)
                except (aiohttp.ClientError, ValueError):
                    pass  # the client refused to send it; nothing reached the receiver
        assert all(s < 500 for s in statuses), statuses
        assert not any(t.done() for t in tasks)
        # the real callbacks still resolve every task with its own result
        for task, url in zip(tasks, urls, strict=True):
            made = gw.task(task.id)
            real = {
                "code": 200,
                "msg": "ok",
                "data": {
                    "callbackType": "complete",
                    "task_id": task.id,
                    "data": [
                        {
                            "id": t["id"],
                            "audio_url": t["audio_url"],
                            "stream_audio_url": t["stream_audio_url"],
                        }
                        for t in made.result
                    ],
                },
            }
            async with aiohttp.ClientSession() as session, session.post(url, json=real) as resp:
                assert resp.status == 200
        for task in tasks:
            song = await task.wait(timeout=5)
            assert [t.id for t in song.tracks] == [t["id"] for t in gw.task(task.id).result]


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)
@given(st.data())
def test_random_requests_never_5xx_and_never_disturb_pending_tasks(data: st.DataObject) -> None:
    def requests_for(tokens: list[str], foreign: list[list[str]]) -> list[dict[str, Any]]:
        return data.draw(st.lists(hostile_request(tokens, foreign), min_size=5, max_size=25))

    asyncio.run(_scenario(requests_for))


async def test_a_body_that_does_not_match_its_content_encoding_is_400(
    quiet_gateway: FakeGateway, anyint_client: AnyIntMusic
) -> None:
    task = await anyint_client.submit_generate("x", model=Model.V5)
    url = callback_url(quiet_gateway)
    status, _ = await post(url, data=b"not gzip at all", headers={"Content-Encoding": "gzip"})
    assert status == 400
    assert not task.done()
