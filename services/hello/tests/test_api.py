"""The service's own routes (main.py). This file is the service's: add your tests here."""

from fastapi.testclient import TestClient


def test_the_root_says_which_service_answered(client: TestClient) -> None:
    assert client.get("/").json()["service"] == "hello"


def test_echo_returns_the_message(client: TestClient) -> None:
    response = client.post("/echo", json={"message": "hi"})
    assert response.status_code == 200
    assert response.json() == {"message": "hi"}
