"""Request bodies: bounded in size (413), in time (408, 503), together in memory (the byte
budget), and JSON that can be answered back (bodies.py)."""

import asyncio
import random

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from hello.bodies import ByteBudget, RequestBodies
from hello.settings import get_settings

LIMIT = get_settings().max_request_body_bytes
JSON = {"content-type": "application/json"}


def message_of(size: int) -> bytes:
    """A valid Echo body of exactly `size` bytes."""
    frame = b'{"message": ""}'
    return frame[:-2] + b"x" * (size - len(frame)) + frame[-2:]


def test_a_body_at_the_limit_is_served(client: TestClient) -> None:
    response = client.post("/echo", content=message_of(LIMIT), headers=JSON)
    assert response.status_code == 200


def test_a_declared_length_over_the_limit_is_refused(client: TestClient) -> None:
    response = client.post("/echo", content=message_of(LIMIT + 1), headers=JSON)
    assert response.status_code == 413


def test_a_chunked_body_over_the_limit_is_refused(client: TestClient) -> None:
    def chunks():  # no Content-Length: the body is counted as it arrives
        yield b'{"message": "'
        yield b"x" * LIMIT
        yield b'"}'

    response = client.post("/echo", content=chunks(), headers=JSON)
    assert response.status_code == 413


def test_a_413_is_counted_under_its_route(client: TestClient) -> None:
    client.post("/echo", content=message_of(LIMIT + 1), headers=JSON)
    metrics = client.get("/metrics").text
    assert 'http_requests_total{method="POST",route="/echo",status="413"}' in metrics


@pytest.mark.parametrize(
    "body",
    [
        b'{"message": 1e400}',
        b'{"message": -Infinity}',
        b'{"message": "\\ud800"}',
        b'{"message": "\xed\xb0\x80"}',  # a surrogate as bytes, which json.loads lets through
        b'[{"\\udfff": 1}]',
    ],
)
def test_json_that_cannot_be_answered_back_is_a_400(client: TestClient, body: bytes) -> None:
    response = client.post("/echo", content=body, headers=JSON)
    assert response.status_code == 400
    assert "RFC 7493" in response.json()["detail"]


def test_escaped_surrogate_pairs_and_large_finite_numbers_are_fine(client: TestClient) -> None:
    response = client.post("/echo", content=b'{"message": "\\ud83d\\ude00 1e300"}', headers=JSON)
    assert response.json() == {"message": "\U0001f600 1e300"}
    assert client.post("/echo", content=b'{"message": 1e300}', headers=JSON).status_code == 422


def reader_app() -> FastAPI:
    app = FastAPI()

    @app.post("/read")
    async def read(request: Request) -> dict[str, int]:
        return {"bytes": len(await request.body())}

    return app


async def call(app: RequestBodies, receive, content_length: int = 10) -> list[dict]:
    """The messages `app` sends for a POST /read whose body comes from `receive`."""
    sent: list[dict] = []
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/read",
        "headers": [(b"content-length", str(content_length).encode())],
        "query_string": b"",
    }

    async def send(message: dict) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


def test_a_body_that_does_not_arrive_in_time_is_a_408() -> None:
    async def never() -> dict:
        await asyncio.Event().wait()
        return {}

    sent = asyncio.run(call(RequestBodies(reader_app(), LIMIT, timeout=0.05), never))
    assert sent[0]["status"] == 408


def test_a_body_that_waits_too_long_for_the_budget_is_a_503() -> None:
    async def body() -> dict:
        return {"type": "http.request", "body": b"x" * 10}

    async def scenario() -> list[dict]:
        bodies = RequestBodies(reader_app(), LIMIT, timeout=0.05)
        await bodies.budget.take(bodies.budget.free)  # spent, by a slow client say
        return await call(bodies, body)

    sent = asyncio.run(scenario())
    assert sent[0]["status"] == 503
    assert (b"retry-after", b"0.05") in sent[0]["headers"]


@pytest.mark.parametrize("seed", range(10))
def test_the_budget_is_never_overspent_nor_leaked_and_nobody_overtakes(seed: int) -> None:
    """Random takers, some cancelled while waiting or holding: the invariants hold."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible schedule, not a secret

    async def scenario() -> None:
        budget, held, order = ByteBudget(16), 0, []

        async def taker(number: int, size: int, pause: float) -> None:
            nonlocal held
            await budget.take(size)
            order.append(number)
            held += size
            try:
                assert held <= 16 and budget.free == 16 - held
                await asyncio.sleep(pause)
            finally:
                held -= size
                budget.give_back(size)

        tasks = []
        for number in range(40):
            tasks.append(asyncio.create_task(taker(number, rng.randint(1, 16), rng.random() / 100)))
            await asyncio.sleep(0)  # each starts waiting before the next arrives
        for number in rng.sample(range(40), 10):
            await asyncio.sleep(rng.random() / 200)
            tasks[number].cancel()
        await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 10)
        assert (budget.free, held) == (16, 0)
        assert order == sorted(order)  # served in arrival order

    asyncio.run(scenario())
