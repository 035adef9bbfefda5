"""Serve the callbacks from your own FastAPI application (one port for everything).

    pip install fastapi uvicorn
    ANYINT_API_KEY=... ANYINT_PUBLIC_URL=https://app.example.com uvicorn examples.fastapi_app:app

Then ``GET /song?prompt=...`` makes a song; the service calls back at
``https://app.example.com/anyint/callbacks/...``, answered by the mounted ASGI app.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from anyint_music import AnyIntMusic, Model

client = AnyIntMusic(
    api_key=os.environ.get("ANYINT_API_KEY", "set-ANYINT_API_KEY"),
    receiver=False,
    public_url=os.environ.get("ANYINT_PUBLIC_URL", "http://127.0.0.1:8000"),
)


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    async with client:  # opened with the app, closed with it
        yield


app = FastAPI(lifespan=lifespan)
app.mount("/anyint/callbacks", client.asgi_app())


@app.get("/song")
async def make_song(prompt: str = "a cheerful song about the sea") -> dict[str, object]:
    song = await client.generate(prompt=prompt, model=Model.V5, timeout=600)
    return {"task_id": song.task_id, "audio": [t.audio_url for t in song.tracks]}
