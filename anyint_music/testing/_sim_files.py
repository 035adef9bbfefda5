"""The simulated gateway's file routes (``/files/{name}``, ``/stream/{name}``): the bytes of
`World`'s files, whole or one byte range of them."""

from __future__ import annotations

from aiohttp import web

from ._sim_world import World

__all__ = ["serve_file"]


async def serve_file(world: World, request: web.Request) -> web.StreamResponse:
    """Answer a file request: 200 with the whole file, 206 with the one range asked for, 416
    for a range that starts past the end, 404 for a file the world does not have."""
    name = request.match_info["name"]
    found = world.stream(name) if request.path.startswith("/stream/") else world.file(name)
    if found is None:
        raise web.HTTPNotFound()
    body, kind = found
    size = len(body)
    headers = {"Accept-Ranges": "bytes"}
    try:
        wanted = request.http_range
    except ValueError:
        # Several ranges, other units or nonsense: ignored, as RFC 9110 allows.
        wanted = slice(None)
    if wanted.start is None and wanted.stop is None:
        return web.Response(body=body, content_type=kind, headers=headers)
    # `indices` clamps the end and a suffix longer than the file, as RFC 9110 §14.1.2 says.
    first, stop, _ = wanted.indices(size)
    if first >= stop:
        headers["Content-Range"] = f"bytes */{size}"
        return web.Response(status=416, headers=headers)
    headers["Content-Range"] = f"bytes {first}-{stop - 1}/{size}"
    return web.Response(status=206, body=body[first:stop], content_type=kind, headers=headers)
