"""Test against a faithful local simulator of AnyInt's music service.

``FakeGateway`` is a real aiohttp server on 127.0.0.1 that answers the ``/suno/*`` routes and
really POSTs the callbacks to your receiver::

    async with FakeGateway() as gw, AnyIntMusic(api_key=gw.api_key, base_url=gw.url) as client:
        song = await client.generate(prompt="a song", model=Model.V5)

With pytest, the plugin installed with this package gives the fixtures ``anyint_gateway`` and
``anyint_client`` (see ``anyint_music.testing._plugin``). ``FakeGateway(inspector=True)`` serves
a live page of its tasks and callbacks at its own address, with controls for its knobs.
"""

from ._gateway import (
    Chaos,
    DeliveredCallback,
    FakeGateway,
    FetchedUpload,
    GatewayStats,
    RecordedRequest,
    SimTask,
)
from ._simulated import client_from_env, simulated_client

__all__ = [
    "Chaos",
    "DeliveredCallback",
    "FakeGateway",
    "FetchedUpload",
    "GatewayStats",
    "RecordedRequest",
    "SimTask",
    "client_from_env",
    "simulated_client",
]
