"""Where the incident webhook may point: loopback, link-local and metadata destinations are
refused unless allowed, by the addresses a name resolves to, on the address that was checked,
and redirects never lead to them. Real HTTP servers on loopback addresses stand in for the
machine's own services."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from keel.errors import ConfigError
from keel.store.webhook import Webhook


class Receiver:
    """A real HTTP server on ``host``: counts POSTs, answers ``status`` (and ``location``)."""

    def __init__(
        self, host: str, status: int = 200, location: str | None = None, port: int = 0
    ) -> None:
        self.calls = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["content-length"]))
                receiver.calls += 1
                self.send_response(status)
                if location:
                    self.send_header("location", location)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.host, self.port = host, self.server.server_port
        self.url = f"http://{host}:{self.port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receivers() -> Iterator[list[Receiver]]:
    started: list[Receiver] = []
    yield started
    for receiver in started:
        receiver.close()


def start(started: list[Receiver], host: str, **kwargs: Any) -> Receiver:
    receiver = Receiver(host, **kwargs)
    started.append(receiver)
    return receiver


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://127.0.0.1:9090/admin", "loopback"),
        ("http://127.8.9.10/", "loopback"),
        ("http://[::1]:8080/", "loopback"),
        ("http://[::ffff:127.0.0.1]/", "loopback"),
        ("http://169.254.169.254/latest/meta-data/", "metadata"),
        ("http://169.254.10.1/", "link-local"),
        ("http://[fe80::1]/", "link-local"),
        ("http://[fd00:ec2::254]/latest/", "metadata"),
        ("http://metadata.google.internal/computeMetadata/v1/", "metadata"),
        ("http://0.0.0.0:9000/", "unspecified"),
    ],
)
def test_forbidden_literal_destinations_are_refused_when_configured(url: str, why: str) -> None:
    with pytest.raises(ConfigError) as refused:
        Webhook(url)
    assert why in refused.value.message and "allow_networks" in (refused.value.hint or "")


def test_a_loopback_receiver_is_reached_only_when_allowed(receivers: list[Receiver]) -> None:
    receiver = start(receivers, "127.0.0.1")
    with pytest.raises(ConfigError):
        Webhook(receiver.url)
    sent = Webhook(receiver.url, allow_networks=("127.0.0.0/8",)).send({"incident": 1})
    assert sent.delivered and receiver.calls == 1
    with pytest.raises(ConfigError) as bad:
        Webhook(receiver.url, allow_networks=("not-a-network",))
    assert bad.value.fields["path"] == "monitoring.notify.allow_networks[0]"


def test_a_name_that_resolves_to_loopback_is_refused_by_its_address(
    receivers: list[Receiver],
) -> None:
    receiver = start(receivers, "127.0.0.1")
    hook = Webhook(f"http://localhost:{receiver.port}/hook", retries=2, pause_seconds=0.01)
    sent = hook.send({"incident": 1})
    assert not sent.delivered and sent.attempts == 1  # a refusal is not retried
    assert sent.error is not None and "localhost resolves to 127.0.0.1" in sent.error
    assert "loopback" in sent.error and receiver.calls == 0


def test_the_connection_goes_to_the_address_that_was_checked(
    receivers: list[Receiver], monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: the name first resolves to an allowed address, then to a forbidden one;
    the webhook connects to the first (checked) address and never to the second."""
    allowed = start(receivers, "127.0.0.2")
    internal = start(receivers, "127.0.0.1", port=allowed.port)  # the same port, inside
    resolve = socket.getaddrinfo
    answers = iter(["127.0.0.2"])

    def rebinding(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "rebind.test":
            host = next(answers, "127.0.0.1")  # the second resolution points inside
        return resolve(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    url = f"http://rebind.test:{allowed.port}/hook"
    sent = Webhook(url, allow_networks=("127.0.0.2/32",), retries=0).send({"incident": 1})
    assert sent.delivered, sent.error
    assert allowed.calls == 1 and internal.calls == 0


def test_redirects_never_lead_to_a_forbidden_address(receivers: list[Receiver]) -> None:
    internal = start(receivers, "127.0.0.1")
    elsewhere = start(receivers, "127.0.0.3")
    to_internal = start(receivers, "127.0.0.2", status=307, location=internal.url)
    moved = start(receivers, "127.0.0.2", status=302, location=elsewhere.url)
    to_allowed = start(receivers, "127.0.0.2", status=308, location=elsewhere.url)
    allow = ("127.0.0.2/32", "127.0.0.3/32")

    refused = Webhook(to_internal.url, allow_networks=allow, retries=0).send({})
    assert not refused.delivered and refused.error is not None
    assert "127.0.0.1 is a loopback address" in refused.error
    assert (to_internal.calls, internal.calls) == (1, 0)

    not_followed = Webhook(moved.url, allow_networks=allow, retries=2).send({})
    assert not not_followed.delivered and not_followed.status == 302
    assert not_followed.error is not None and "redirect not followed" in not_followed.error
    assert (moved.calls, elsewhere.calls, not_followed.attempts) == (1, 0, 1)

    followed = Webhook(to_allowed.url, allow_networks=allow, retries=0).send({})
    assert followed.delivered and (to_allowed.calls, elsewhere.calls) == (1, 1)
