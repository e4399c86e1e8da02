"""An example to copy: a route that calls a peer through its client (peers.py).

`GET /peers/{name}` calls that peer's `GET /` and answers its status and reply; a name this
service does not call is a 404, and a peer that gives no usable answer a 502, 503 or 504
(chassis.py turns peers.PeerError into it). main.py adds it (add_peer_example); copy the
pattern into your own routes: `request.app.state.peers["orders"].request("GET", "/x/42")`.
"""

from typing import Any

from fastapi import FastAPI, HTTPException, Request

from hello.peers import PeerError


def add_peer_example(app: FastAPI) -> None:
    """Serve the example route on `app`."""
    app.get("/peers/{name}")(call_peer)


async def call_peer(name: str, request: Request) -> dict[str, Any]:
    """Call a peer's `GET /` and say what it answered."""
    peers = request.app.state.peers
    if name not in peers:
        raise HTTPException(404, f"this service does not call {name!r}; it calls: {sorted(peers)}")
    response = await peers[name].request("GET", "/")
    try:
        reply = response.json()
    except ValueError:
        raise PeerError(502, f"{name} answered something that is not JSON") from None
    return {"peer": name, "status": response.status_code, "reply": reply}
