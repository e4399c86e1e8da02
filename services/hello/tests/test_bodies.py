"""Request bodies: bounded one by one (413) and all together (the byte budget)."""

import asyncio
import random

import pytest
from fastapi.testclient import TestClient

from hello.bodies import ByteBudget
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


async def hold(budget: ByteBudget, size: int, log: list[str], name: str, release: asyncio.Event):
    await budget.take(size)
    log.append(name)
    await release.wait()
    budget.give_back(size)


def test_takers_wait_in_arrival_order_and_get_their_bytes_back() -> None:
    async def scenario() -> list[str]:
        budget, log, release = ByteBudget(10), [], asyncio.Event()
        first = asyncio.create_task(hold(budget, 8, log, "first", release))
        await asyncio.sleep(0)
        big = asyncio.create_task(hold(budget, 5, log, "big", asyncio.Event()))
        small = asyncio.create_task(hold(budget, 1, log, "small", asyncio.Event()))
        await asyncio.sleep(0.01)
        assert log == ["first"]  # "small" would fit, but does not overtake "big"
        release.set()
        await first
        await asyncio.sleep(0.01)
        assert budget.free == 10 - 5 - 1
        big.cancel()
        small.cancel()
        await asyncio.gather(big, small, return_exceptions=True)
        return log

    assert asyncio.run(scenario()) == ["first", "big", "small"]


@pytest.mark.parametrize("seed", range(20))
def test_the_budget_is_never_overspent_nor_leaked(seed: int) -> None:
    """Random takers, some cancelled while waiting or holding: the invariants hold."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible schedule, not a secret

    async def scenario() -> None:
        budget = ByteBudget(16)
        held = 0

        async def taker(size: int, pause: float) -> None:
            nonlocal held
            await budget.take(size)
            held += size
            try:
                assert held <= budget.total and 0 <= budget.free <= budget.total - held
                await asyncio.sleep(pause)
            finally:
                held -= size
                budget.give_back(size)

        tasks = [
            asyncio.create_task(taker(rng.randint(1, 16), rng.random() / 100)) for _ in range(40)
        ]
        for task in rng.sample(tasks, 10):
            await asyncio.sleep(rng.random() / 200)
            task.cancel()
        results = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 10)
        assert [r for r in results if not isinstance(r, asyncio.CancelledError | None)] == []
        assert (budget.free, held) == (budget.total, 0)

    asyncio.run(scenario())
