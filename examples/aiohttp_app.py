"""Serve the callbacks from your own aiohttp application (one port for everything).

    ANYINT_API_KEY=... ANYINT_PUBLIC_URL=https://app.example.com python examples/aiohttp_app.py

Then ``GET /song?prompt=...`` makes a song; the service calls back at
``https://app.example.com/anyint/callbacks/...``, answered by this same app. To try it without
a key, point it at the simulator: run ``python -m anyint_music simulate --port 9000`` and set
``ANYINT_BASE_URL`` and ``ANYINT_API_KEY`` to what it prints.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import AsyncIterator

from aiohttp import web

from anyint_music import AnyIntMusic, Model

CLIENT = web.AppKey("client", AnyIntMusic)


async def make_song(request: web.Request) -> web.Response:
    prompt = request.query.get("prompt", "a cheerful song about the sea")
    song = await request.app[CLIENT].generate(prompt=prompt, model=Model.V5, timeout=600)
    return web.json_response({"task_id": song.task_id, "audio": [t.audio_url for t in song.tracks]})


def build_app(public_url: str) -> web.Application:
    """The app: its own route, plus the callback route of a client opened with the app."""
    client = AnyIntMusic(receiver=False, public_url=public_url)
    app = web.Application()
    app[CLIENT] = client
    app.add_routes(client.callback_routes())  # POST /anyint/callbacks/{token}
    app.router.add_get("/song", make_song)

    async def client_context(_: web.Application) -> AsyncIterator[None]:
        async with client:
            yield

    app.cleanup_ctx.append(client_context)
    return app


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    public_url = os.environ.get("ANYINT_PUBLIC_URL") or f"http://127.0.0.1:{args.port}"
    web.run_app(build_app(public_url), port=args.port)
