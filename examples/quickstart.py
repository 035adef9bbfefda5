"""Make a song and print its tracks.

With ANYINT_API_KEY set this talks to AnyInt (set ANYINT_PUBLIC_URL to an address the service
can reach, e.g. a tunnel to this machine); without it, to the built-in simulator.

    python examples/quickstart.py "A bright summer pop song about travel"
"""

from __future__ import annotations

import asyncio
import os
import sys

from anyint_music import Model
from anyint_music.testing import client_from_env


async def main(prompt: str) -> None:
    if not os.environ.get("ANYINT_API_KEY"):
        print("ANYINT_API_KEY is not set: using the built-in simulator.")
    async with client_from_env(stage_delay=0.2) as client:
        task = await client.submit_generate(prompt, model=Model.V5)
        print(f"submitted task {task.id}")
        async for event in task.events():
            print(f"  stage {event.stage.value}: {len(event.tracks)} track(s) ready")
        song = await task
        for track in song.tracks:
            print(f"{track.title!r} ({track.duration or 0:.0f} s)")
            print(f"  audio:  {track.audio_url}")
            print(f"  stream: {track.stream_audio_url}")
            print(f"  cover:  {track.image_url}")


if __name__ == "__main__":
    asyncio.run(main(" ".join(sys.argv[1:]) or "A bright summer pop song about travel"))
