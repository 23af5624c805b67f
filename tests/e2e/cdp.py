"""A real headless Chromium driven over the DevTools protocol, through a pipe (no WebSocket
library, no browser download): ``--remote-debugging-pipe`` reads NUL-terminated JSON commands on
fd 3 and writes replies and events on fd 4. Playwright drives Chromium the same way.

Every request the page makes is recorded (``requests``) with the headers of its response, so a
test can check that none left 127.0.0.1 and that the CSP header holds; a dead proxy stands in for
the network, and console messages (CSP violations included) are kept in ``console``.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from tests.e2e.chromium import chromium


class Browser:
    """One headless Chromium process with one page (a tab) attached."""

    def __init__(self, profile: Path) -> None:
        to_child, self._out = os.pipe()  # we write commands, Chromium reads them on fd 3
        self._in, from_child = os.pipe()  # Chromium writes on fd 4, we read

        def fds() -> None:  # runs in the child before exec: the pipe ends onto fds 3 and 4
            high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (to_child, from_child)]
            os.dup2(high[0], 3)
            os.dup2(high[1], 4)

        self.process = subprocess.Popen(
            [
                chromium(),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--proxy-server=127.0.0.1:9",  # anything not on loopback goes nowhere
                "--window-size=1280,900",
                "--remote-debugging-pipe",
                f"--user-data-dir={profile}",
                "about:blank",
            ],
            preexec_fn=fds,  # noqa: PLW1509 - the pipe must sit on fds 3 and 4 (started once)
            pass_fds=(3, 4),  # kept open (and inheritable) after the dup2 above
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_child)
        os.close(from_child)
        self._next = 0
        self._replies: dict[int, dict[str, Any]] = {}
        self._events: list[dict[str, Any]] = []
        self._lock = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)[
            "sessionId"
        ]
        for domain in ("Page", "Network", "Runtime", "Log"):
            self.call(f"{domain}.enable", session=True)

    # ---------------------------------------------------------------- protocol

    def _read(self) -> None:
        buffer = b""
        while True:
            chunk = os.read(self._in, 1 << 20)
            if not chunk:
                return
            buffer += chunk
            while b"\0" in buffer:
                raw, buffer = buffer.split(b"\0", 1)
                message = json.loads(raw)
                with self._lock:
                    if "id" in message:
                        self._replies[message["id"]] = message
                    else:
                        self._events.append(message)
                    self._lock.notify_all()

    def call(self, method: str, *, session: bool = False, **params: Any) -> dict[str, Any]:
        with self._lock:
            self._next += 1
            ident = self._next
        message: dict[str, Any] = {"id": ident, "method": method, "params": params}
        if session:
            message["sessionId"] = self.session
        os.write(self._out, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + 60
        with self._lock:
            while ident not in self._replies:
                if not self._lock.wait(timeout=max(0.0, deadline - time.monotonic())):
                    raise AssertionError(f"Chromium did not answer {method}")
            reply = self._replies.pop(ident)
        if "error" in reply:
            raise AssertionError(f"{method}: {reply['error']}")
        result: dict[str, Any] = reply.get("result", {})
        return result

    def events(self, method: str) -> list[dict[str, Any]]:
        with self._lock:
            return [e["params"] for e in self._events if e.get("method") == method]

    # ---------------------------------------------------------------- page

    def evaluate(self, expression: str) -> Any:
        found = self.call(
            "Runtime.evaluate", session=True, expression=expression, returnByValue=True
        )
        if "exceptionDetails" in found:
            raise AssertionError(f"{expression}: {found['exceptionDetails']}")
        return found["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if self.evaluate(expression):
                    return
            except AssertionError:
                pass  # the page is navigating: its context is being replaced
            if time.monotonic() > deadline:
                raise AssertionError(f"not true within {timeout} s: {expression}")
            time.sleep(0.05)

    def goto(self, url: str) -> None:
        self.call("Page.navigate", session=True, url=url)
        self.wait_for(
            f"location.href.startsWith({json.dumps(url)}) && document.readyState == 'complete'"
        )

    def submit(self, button: str, *, fill: dict[str, str] | None = None) -> None:
        """Fill inputs by CSS selector, click ``button``, and wait for the next page to load."""
        marker = f"keel-{time.monotonic_ns()}"
        self.evaluate(f"window.name = {json.dumps(marker)}; document.body.dataset.before = 1")
        for selector, value in (fill or {}).items():
            self.evaluate(
                f"document.querySelector({json.dumps(selector)}).value = {json.dumps(value)}"
            )
        self.evaluate(f"document.querySelector({json.dumps(button)}).click()")
        self.wait_for("!document.body || document.body.dataset.before === undefined")
        self.wait_for("document.readyState == 'complete'")

    def text(self, selector: str = "body") -> str:
        found = self.evaluate(
            f"(document.querySelector({json.dumps(selector)}) || {{}}).innerText || ''"
        )
        return str(found)

    def screenshot(self, path: Path) -> Path:
        shot = self.call("Page.captureScreenshot", session=True, format="png")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))
        return path

    def requests(self) -> list[str]:
        return [e["request"]["url"] for e in self.events("Network.requestWillBeSent")]

    def responses(self) -> list[dict[str, Any]]:
        return [e["response"] for e in self.events("Network.responseReceived")]

    def console(self) -> list[str]:
        logged = [e["entry"].get("text", "") for e in self.events("Log.entryAdded")]
        calls = self.events("Runtime.consoleAPICalled")
        return logged + [str(c.get("args")) for c in calls if c.get("type") == "error"]

    def close(self) -> None:
        with contextlib.suppress(AssertionError, OSError):
            self.call("Browser.close")
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
        os.close(self._out)
