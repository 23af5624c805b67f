"""The incident webhook against a real HTTP server: retries, refusals and a hung endpoint."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from keel.errors import ConfigError
from keel.store.webhook import Webhook

LOCAL = ("127.0.0.1/32",)  # the test servers listen on loopback, refused unless allowed


class Endpoint:
    """Answers each POST with the next status of ``script`` (the last one repeats)."""

    def __init__(self, script: list[int], *, hang: float = 0.0) -> None:
        self.script, self.hang, self.calls = script, hang, 0
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["content-length"]))
                endpoint.calls += 1
                time.sleep(endpoint.hang)
                status = endpoint.script[min(endpoint.calls, len(endpoint.script)) - 1]
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook?token=secret"


@pytest.fixture
def endpoint(request: pytest.FixtureRequest) -> Iterator[Endpoint]:
    script, hang = request.param
    found = Endpoint(script, hang=hang)
    thread = threading.Thread(target=found.server.serve_forever, daemon=True)
    thread.start()
    yield found
    found.server.shutdown()
    found.server.server_close()  # waits for a hung handler to finish


@pytest.mark.parametrize("endpoint", [([500, 503, 200], 0.0)], indirect=True)
def test_server_errors_are_retried_until_delivered(endpoint: Endpoint) -> None:
    sent = Webhook(endpoint.url, allow_networks=LOCAL, retries=3, pause_seconds=0.01).send(
        {"hello": 1}
    )
    assert (sent.delivered, sent.attempts, sent.status) == (True, 3, 200)


@pytest.mark.parametrize("endpoint", [([404], 0.0)], indirect=True)
def test_a_refusal_is_not_retried(endpoint: Endpoint) -> None:
    sent = Webhook(endpoint.url, allow_networks=LOCAL, retries=3, pause_seconds=0.01).send({})
    assert (sent.delivered, sent.attempts, sent.error) == (False, 1, "HTTP 404")
    assert endpoint.calls == 1


@pytest.mark.parametrize("endpoint", [([200], 0.8)], indirect=True)
def test_a_hung_endpoint_times_out_on_every_attempt(endpoint: Endpoint) -> None:
    started = time.monotonic()
    sent = Webhook(
        endpoint.url, allow_networks=LOCAL, timeout_seconds=0.2, retries=1, pause_seconds=0.01
    ).send({})
    assert not sent.delivered and sent.attempts == 2
    assert sent.error is not None and "timed out" in sent.error.lower()
    assert time.monotonic() - started < 1.5


def test_only_http_urls_and_no_secrets_shown() -> None:
    with pytest.raises(ConfigError):
        Webhook("file:///etc/passwd")
    assert Webhook("https://user:pw@ops.example:8443/h?token=x").shown == "https://ops.example:8443"
